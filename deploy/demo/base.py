"""What every demo step gets: the clients, tokens, the shared clock and what earlier steps found."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable, Mapping

import httpx

COUNTY = "652722000000"  # 精河县
#: The demo's services start on a settable clock here (``FUPIN_CLOCK``); steps move it with ``at``.
CLOCK_START = "2018-01-02T09:00:00+08:00"

Token = Callable[..., str]  # token(role, division, dept=None) -> bearer token


def check(response: httpx.Response) -> Any:
    """The response's JSON, or a RuntimeError naming the request and the problem."""
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url} → {response.status_code}: {response.text[:2000]}")
    return response.json()


@dataclass
class Demo:
    clients: Mapping[str, httpx.AsyncClient]
    token: Token
    #: what a step hands on to later ones (project codes, …)
    state: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str, division: str, key: str | None = None, dept: str | None = None) -> dict[str, str]:
        """Bearer token, and an Idempotency-Key for writes (fixed keys make a re-run a replay)."""
        headers = {"Authorization": f"Bearer {self.token(role, division, dept)}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def at(self, when: str) -> None:
        """Set every service's clock to ``when`` (aware ISO datetime) — never backwards, so a re-run
        of the demo leaves time where the first run left it."""
        admin = self.headers("admin", "000000000000")
        for client in self.clients.values():
            now = check(await client.get("/dev/clock"))
            if now["settable"] and now["now"] < _utc(when):
                check(await client.post("/dev/clock", json={"set": when}, headers=admin))


def _utc(when: str) -> str:
    return datetime.fromisoformat(when).astimezone(UTC).isoformat()


Step = Callable[[Demo], Awaitable[str]]


async def wait_for(what: str, predicate: Callable[[], Awaitable[Any]], timeout: float = 300) -> Any:
    """Poll ``predicate`` until it gives something truthy (returned): the demo runs against live
    services, so what one step caused reaches another service through the broker a moment later."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await predicate()):
        if loop.time() > deadline:
            raise RuntimeError(f"demo: {what} did not happen within {timeout:.0f}s")
        await asyncio.sleep(0.5)
    return result
