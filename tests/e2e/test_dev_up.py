"""`fupin dev up` (what `make run` runs) on embedded PostgreSQL and the embedded broker: all four
services come up ready, tokens work, Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
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
    env["FUPIN_LOG_LEVEL"] = "WARNING"
    log = open(data_dir / "services.log", "wb")
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
