"""Less work per request: the token verified once, the auth dependencies on the event loop (no
thread-pool hand-off), several worker processes per service."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys

import httpx
import psutil

from deploy.embedded import free_port
from shared.auth import Role, current_principal, require
from tests.service.funds_support import CENTRAL, JINGHE, committed_project


def test_the_auth_dependencies_are_coroutines_so_fastapi_runs_them_on_the_event_loop():
    assert inspect.iscoroutinefunction(current_principal)
    assert inspect.iscoroutinefunction(require(Role.county_finance, write=True))


async def test_a_write_request_verifies_its_token_once(funds, monkeypatch):
    f = funds
    app = f.client._transport.app
    verifier = app.state.token_verifier
    decoded = []
    real = verifier._decode

    def counting(token):
        decoded.append(token)
        return real(token)

    monkeypatch.setattr(verifier, "_decode", counting)
    verifier._known.clear()
    assert (await f.post("/appropriations", CENTRAL, amount="100.00", document_no="财农〔2017〕8号")).status_code == 201
    assert len(decoded) == 1  # the idempotency scope and the role dependency share one verification
    await committed_project(f, "10.00")
    decoded.clear()
    verifier._known.clear()
    paid = await f.post("/disbursements", JINGHE, amount="1.00", project_code="P-1",
                        payee={"kind": "contractor", "name": "某公司"})
    assert paid.status_code == 201 and len(decoded) == 1  # the grouped path too


async def test_a_service_serves_from_several_worker_processes(databases):
    settings = await databases.new("registry")
    port = free_port()
    env = {**os.environ, "FUPIN_DATABASE_URL": settings.database_url, "FUPIN_REGISTRY_DATABASE": settings.database_name,
           "FUPIN_REGISTRY_PORT": str(port), "FUPIN_WORKERS": "2", "FUPIN_LOG_LEVEL": "WARNING"}
    env.pop("FUPIN_KAFKA_BOOTSTRAP", None)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.registry", env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # two processes importing the whole service: allow a loaded CI machine its time
            deadline = asyncio.get_running_loop().time() + 120
            while asyncio.get_running_loop().time() < deadline:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            answers = await asyncio.gather(*(client.get("/healthz") for _ in range(20)))
        assert all(a.status_code == 200 for a in answers)
        workers = [p for p in psutil.Process(process.pid).children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
    finally:
        process.terminate()
        await process.wait()
