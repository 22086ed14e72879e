"""All four services at once, in this process: each on a fresh database, served by uvicorn on a free
port (so consumers backfill over real HTTP), exchanging events through the real broker on topics
private to the stack, all on one settable clock.

    async with ServiceStack.start(databases, broker, clock) as stack:
        await stack.clients["projects"].post(...)
        await stack.wait_until(lambda: ...)

Background work runs: relays, consumers, announcement and deadline schedulers (every 0.2 s).
Topics have ``FUPIN_TEST_PARTITIONS`` partitions, default 3: the cross-service flows run where
per-aggregate order, consumers across partitions and backfill are at stake (one partition is the
total order that 3 includes; ``fupin dev up`` and ``make run`` use one, tested by test_dev_up).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import httpx
import uvicorn

from deploy.embedded import free_port
from shared.auth import issue_token
from shared.clock import SettableClock
from shared.config import SERVICES, Settings
from shared.web.serve import server_config
from tests.conftest import fetch


PARTITIONS = int(os.environ.get("FUPIN_TEST_PARTITIONS", "3"))


async def wait_until(predicate: Callable[[], Awaitable[Any]], timeout: float = 60.0, every: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if result := await predicate():
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


@dataclass
class ServiceStack:
    clock: SettableClock
    settings: dict[str, Settings] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)

    def token(self, role: str, division: str = "000000000000", dept: str | None = None, sub: str | None = None) -> str:
        return issue_token(self.settings["registry"], sub=sub or f"test-{role}", roles=[role], division=division, dept=dept)

    def headers(self, role: str, division: str = "000000000000", key: str | None = None, **kwargs) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(role, division, **kwargs)}"}
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
        return headers

    async def wait_until(self, predicate: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
        return await wait_until(predicate, timeout)

    async def caught_up(self, consumer: str, source: str, timeout: float = 60.0) -> None:
        """Wait until ``consumer`` has applied every event ``source`` has written so far."""
        auditor = {"Authorization": f"Bearer {self.token('auditor')}"}
        last = (await self.clients[source].get("/events", params={"after": 0, "limit": 1}, headers=auditor)).json()["last_seq"]

        async def applied() -> bool:
            rows = await fetch(self.settings[consumer], "SELECT last_seq FROM consumer_positions WHERE source = $1", source)
            return bool(rows) and rows[0]["last_seq"] >= last

        await wait_until(applied, timeout, every=0.2)

    @classmethod
    @asynccontextmanager
    async def start(cls, databases, broker, clock: SettableClock, **overrides):
        stack = cls(clock)
        ports = {service: free_port() for service in SERVICES}
        urls = {f"{service}_url": f"http://127.0.0.1:{port}" for service, port in ports.items()}
        prefix = f"t{uuid.uuid4().hex[:10]}"
        for service in SERVICES:
            stack.settings[service] = await databases.new(
                service, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix, topic_partitions=PARTITIONS,
                scheduler_seconds=0.2, consumer_catchup_seconds=1.0, relay_poll_seconds=0.2,
                host="127.0.0.1", port=ports[service], **urls, **overrides)
        servers: list[tuple[uvicorn.Server, asyncio.Task]] = []
        try:
            for service in SERVICES:
                app = importlib.import_module(f"services.{service}.app").create_app(stack.settings[service], clock=clock)
                server = uvicorn.Server(server_config(app, stack.settings[service], lifespan="on"))
                task = asyncio.create_task(server.serve())
                servers.append((server, task))
                stack.apps[service] = app
                stack.clients[service] = httpx.AsyncClient(base_url=urls[f"{service}_url"], timeout=120)
            for server, task in servers:
                await wait_until(functools.partial(_started, server, task), 30, every=0.05)
            yield stack
        finally:
            for client in stack.clients.values():
                await client.aclose()
            for server, _ in servers:
                server.should_exit = True
            await asyncio.gather(*(task for _, task in servers), return_exceptions=True)


async def _started(server: uvicorn.Server, task: asyncio.Task) -> bool:
    if task.done():
        task.result()  # raises what stopped it
        raise RuntimeError("uvicorn exited before it started")
    return server.started
