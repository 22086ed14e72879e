"""``fupin dev up``: the whole system on one machine.

Uses FUPIN_DATABASE_URL / FUPIN_KAFKA_BOOTSTRAP when set, otherwise starts embedded PostgreSQL
(data in ``<data-dir>/postgres``) and the embedded broker; creates and migrates each service's
database; starts the four services as ``python -m services.<name>``; waits until each is ready;
optionally loads the demo data through the REST APIs; prints URLs and development tokens; and
on Ctrl-C (or SIGTERM, or a service dying) stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.embedded import EmbeddedBroker, EmbeddedMissing, EmbeddedPostgres
from shared import logging as fupin_logging
from shared.auth import DEV_IDENTITIES, dev_subject, issue_token
from shared.config import SERVICES, settings_for
from shared.db import prepare_database

RUNTIME_FILE = "runtime.json"
STATUS_FILE = "status.json"  # what the banner said, for `fupin dev status`


@dataclass
class Stack:
    data_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_infrastructure(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env.setdefault("FUPIN_DATA_DIR", str(self.data_dir))  # development log keys: <data_dir>/keys
        if not self.env.get("FUPIN_DATABASE_URL"):
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres").start()
            self.env["FUPIN_DATABASE_URL"] = self.postgres.url
            print(f"  embedded PostgreSQL  {self.postgres.url}  (data in {self.postgres.data_dir})")
        if not self.env.get("FUPIN_KAFKA_BOOTSTRAP"):
            self.broker = EmbeddedBroker(log_path=self.data_dir / "broker.log").start()
            self.env["FUPIN_KAFKA_BOOTSTRAP"] = self.broker.bootstrap
            print(f"  embedded broker      {self.broker.bootstrap}  (Tansu, memory-only)")
        (self.data_dir / RUNTIME_FILE).write_text(json.dumps({
            "FUPIN_DATABASE_URL": self.env["FUPIN_DATABASE_URL"],
            "FUPIN_KAFKA_BOOTSTRAP": self.env["FUPIN_KAFKA_BOOTSTRAP"],
        }))

    def settings(self, service: str):
        """The service's settings as its process will see them (our environment + the infrastructure)."""
        return settings_for(service, database_url=self.env["FUPIN_DATABASE_URL"],
                            kafka_bootstrap=self.env["FUPIN_KAFKA_BOOTSTRAP"])

    def migrate(self) -> None:
        async def run() -> None:
            for service in SERVICES:
                await prepare_database(self.settings(service))

        asyncio.run(run())
        print("  databases created and migrated: " + ", ".join(self.settings(s).database_name for s in SERVICES))

    def start_services(self) -> None:
        for service in SERVICES:
            self.processes[service] = subprocess.Popen([sys.executable, "-m", f"services.{service}"], env=self.env)
        # the officials' console calls the services at the addresses they were started on
        console_env = {**self.env, **{f"FUPIN_{s.upper()}_URL": self.url(s) for s in SERVICES}}
        self.processes["console"] = subprocess.Popen([sys.executable, "-m", "services.console"], env=console_env)

    def console_url(self) -> str:
        from services.console.settings import ConsoleSettings

        settings = ConsoleSettings()
        return f"http://{settings.host}:{settings.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending and time.monotonic() < deadline:
            for service in sorted(pending):
                if self.processes[service].poll() is not None:
                    raise RuntimeError(f"service {service} exited with {self.processes[service].returncode}")
                probe = self.console_url() + "/healthz" if service == "console" else self.url(service) + "/readyz"
                try:
                    if httpx.get(probe, timeout=2).status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        if pending:
            raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")

    def url(self, service: str) -> str:
        settings = self.settings(service)
        return f"http://{settings.host}:{settings.port}"

    def token(self, role: str, division: str, dept: str | None = None) -> str:
        return issue_token(self.settings("registry"), sub=dev_subject(role, division, dept), roles=[role],
                           division=division, dept=dept)

    def load_demo(self) -> None:
        """Load the demo data through the services' REST APIs."""
        from deploy.demo import load_demo

        async def run() -> None:
            clients = {s: httpx.AsyncClient(base_url=self.url(s), timeout=600) for s in SERVICES}
            try:
                await load_demo(clients, self.token, say=lambda line: print(line, flush=True))
            finally:
                for client in clients.values():
                    await client.aclose()

        asyncio.run(run())

    def tokens(self) -> list[tuple[str, str]]:
        return [(label, self.token(role, division, dept)) for label, role, division, dept in DEV_IDENTITIES]

    def banner(self) -> str:
        lines = ["", "Fupin is running:"]
        for service in SERVICES:
            lines.append(f"  {service:<9} {self.url(service)}   docs {self.url(service)}/docs")
        lines.append(f"  console   {self.console_url()}/login   (officials' console: pick an identity; 精河县扶贫办 "
                     "for the county)")
        lines.append(f"  notice board  {self.url('registry')}/public/boards/652722"
                     "   (精河县: every service's announcements, archive, objection receipts)")
        lines.append(f"  audit report  {self.url('audit')}/audit/report?as_of=2018-12-20&division=652722&format=html"
                     "   (auditor token; the demo's year)")
        lines.append("")
        lines.append("Development tokens (Authorization: Bearer <token>; valid 12 h):")
        for label, token in self.tokens():
            lines.append(f"  {label}\n    {token}")
        lines.append("")
        lines.append("Ctrl-C stops everything.")
        return "\n".join(lines)

    def write_status(self, banner: str) -> None:
        """``<data-dir>/status.json``: the banner (URLs, development tokens) for ``fupin dev status``;
        readable by its owner only (the tokens are development credentials)."""
        path = self.data_dir / STATUS_FILE
        path.touch(mode=0o600)
        path.write_text(json.dumps({
            "pid": os.getpid(), "ready_at": time.strftime("%Y-%m-%d %H:%M:%S %z"), "banner": banner,
            "urls": {service: self.url(service) for service in SERVICES} | {"console": self.console_url()},
        }, ensure_ascii=False))

    def stop(self) -> None:
        (self.data_dir / STATUS_FILE).unlink(missing_ok=True)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)


def up(data_dir: Path, demo: bool) -> int:
    stack = Stack(data_dir=data_dir.resolve())
    stopping = False

    def request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # the runner speaks on stdout (progress, the banner); its stderr carries warnings only, as log
    # lines of service "runner" (the services log to the same stderr, each under its own name)
    runner_settings = settings_for("registry")
    fupin_logging.configure("WARNING", runner_settings.log_as_json, "runner")
    print("Starting Fupin …")
    if demo and not stack.env.get("FUPIN_CLOCK"):
        # the demo is a year of 精河县: the services run on a settable clock the demo moves forward
        from deploy.demo import CLOCK_START

        stack.env["FUPIN_CLOCK"] = CLOCK_START
        # the demo moves time in jumps; schedulers (announcements closing, deadlines) keep up with it
        stack.env.setdefault("FUPIN_SCHEDULER_SECONDS", "1")
        print(f"  demo clock           starts at {CLOCK_START} (settable: GET/POST /dev/clock)")
    try:
        stack.start_infrastructure()
        stack.migrate()
        stack.start_services()
        stack.wait_ready()
        if demo:
            stack.load_demo()
        banner = stack.banner()
        print(banner, flush=True)
        stack.write_status(banner)
        while not stopping:
            for service, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"service {service} exited with {process.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.3)
        return 0
    except EmbeddedMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        print("Stopping …", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def load_runtime_env(data_dir: Path) -> None:
    """Let CLI commands reach the infrastructure of a running ``fupin dev up``."""
    runtime = data_dir / RUNTIME_FILE
    if runtime.exists():
        for key, value in json.loads(runtime.read_text()).items():
            os.environ.setdefault(key, value)


def status(data_dir: Path) -> tuple[bool, str]:
    """Whether a ``fupin dev up`` runs from ``data_dir``, and what to say: its banner again (with
    each service's readiness now), or why there is none."""
    path = data_dir / STATUS_FILE
    if not path.exists():
        if (data_dir / RUNTIME_FILE).exists():
            return False, (f"Fupin is starting (or stopping): {data_dir / RUNTIME_FILE} is there but the services "
                           "are not ready yet; try again in a moment.")
        return False, f"Fupin is not running from {data_dir} (no {STATUS_FILE}): start it with `make run`."
    written = json.loads(path.read_text())
    try:
        os.kill(written["pid"], 0)
    except ProcessLookupError:
        return False, (f"Fupin is not running: the runner (pid {written['pid']}) that wrote {path} is gone "
                       "(stopped without cleaning up); start it again with `make run`.")
    except PermissionError:
        pass  # alive, another user's
    lines = [f"(as printed when it was ready, {written['ready_at']}; runner pid {written['pid']})",
             written["banner"].replace("Ctrl-C stops everything.", "").strip("\n"), "", "Now:"]
    for name, url in written["urls"].items():
        probe = url + ("/healthz" if name == "console" else "/readyz")
        try:
            answer = httpx.get(probe, timeout=2)
            state = "ready" if answer.status_code == 200 else f"not ready ({answer.status_code})"
        except httpx.HTTPError as exc:
            state = f"not answering ({type(exc).__name__})"
        lines.append(f"  {name:<9} {state}")
    return True, "\n".join(lines)
