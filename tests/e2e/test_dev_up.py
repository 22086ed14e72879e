"""`fupin dev up` (what `make run` runs) on embedded PostgreSQL and the embedded broker: all four
services come up ready, tokens work, the console is quiet while nothing happens, `fupin dev status`
prints the banner again, Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import subprocess
import tempfile
from pathlib import Path

import httpx

from deploy.embedded import free_port, port_free
from shared.config import SERVICES


async def test_dev_up_runs_everything_embedded_and_stops_cleanly():
    data_dir = Path(tempfile.mkdtemp(prefix="fupin-devup-"))
    ports = {service: free_port() for service in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    for service, port in ports.items():
        env[f"FUPIN_{service.upper()}_PORT"] = str(port)
        env[f"FUPIN_{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
    env["FUPIN_CONSOLE_PORT"] = str(console_port := free_port())
    log = open(data_dir / "services.log", "wb")  # the defaults `make run` has: INFO, development
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", "dev", "up", "--data-dir", str(data_dir / "data"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
    )
    banner = []
    try:
        async def read_banner():
            while True:
                line = (await process.stdout.readline()).decode()
                if not line:
                    raise AssertionError("dev up exited early:\n" + "".join(banner)
                                         + (data_dir / "services.log").read_text(errors="replace")[-3000:])
                banner.append(line)
                if "Ctrl-C stops everything" in line:
                    return

        await asyncio.wait_for(read_banner(), 180)
        # idle: nothing is asked of the system, so (after a moment to settle) it says nothing
        await asyncio.sleep(3)
        before = logged_lines(data_dir)
        await asyncio.sleep(IDLE_SECONDS)
        said = logged_lines(data_dir)[len(before):]
        assert said == [], f"{len(said)} lines logged in {IDLE_SECONDS}s of idle:\n" + "\n".join(said)
        assert all(SERVICE_FIELD.match(line) for line in before if line.strip()), "a line without its service"

        status = await run_cli(env, "dev", "status", "--data-dir", str(data_dir / "data"))
        assert status.returncode == 0, status.stderr
        text = "".join(banner)
        assert "embedded PostgreSQL" in text and "embedded broker" in text
        tokens = dict(re.findall(r"^  (.+)\n    (\S+)$", text, re.M))
        auditor = tokens["审计 auditor (national)"]
        async with httpx.AsyncClient() as client:
            for port in ports.values():
                base = f"http://127.0.0.1:{port}"
                assert base in text
                ready = await client.get(f"{base}/readyz")
                assert ready.status_code == 200, ready.text
                assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "topic": "ok"}
                verify = await client.get(f"{base}/events/verify", headers={"Authorization": f"Bearer {auditor}"})
                assert verify.status_code == 200 and verify.json()["ok"] is True
                assert (await client.get(f"{base}/openapi.json")).status_code == 200
            console = f"http://127.0.0.1:{console_port}"
            assert f"{console}/login" in text
            login_page = await client.get(f"{console}/login")
            assert login_page.status_code == 200 and "精河县扶贫办" in login_page.text
        # the status repeats the banner's addresses and tokens, and says each service is ready now
        assert auditor in status.stdout and f"{console}/login" in status.stdout
        assert all(f"http://127.0.0.1:{port}" in status.stdout for port in ports.values())
        assert all(re.search(rf"^  {name}\s+ready$", status.stdout, re.M) for name in [*SERVICES, "console"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stdout.read(), 60)
        code = await asyncio.wait_for(process.wait(), 60)
        log.close()
    assert code == 0
    assert "Stopped." in rest.decode()
    assert all(port_free(port) for port in [*ports.values(), console_port])
    assert not (data_dir / "data" / "postgres" / "postmaster.pid").exists()
    assert not (data_dir / "data" / "runtime.json").exists()
    stopped = await run_cli(env, "dev", "status", "--data-dir", str(data_dir / "data"))
    assert stopped.returncode == 1 and "not running" in stopped.stderr


IDLE_SECONDS = 15  # longer than the peers' feed polls (every few seconds), which used to log a line each
# development lines: "13:50:02 info    registry  message …" (time, level, service); a traceback's
# continuation lines are indented
SERVICE_FIELD = re.compile(r"^(\d\d:\d\d:\d\d [a-z]+ +(registry|funds|projects|audit|console|runner) |\s)")


def logged_lines(data_dir: Path) -> list[str]:
    return (data_dir / "services.log").read_text(errors="replace").splitlines()


async def run_cli(env: dict[str, str], *args: str):
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "deploy.cli", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return subprocess.CompletedProcess(args, process.returncode, out.decode(), err.decode())
