"""The services, called with the logged-in official's token: the services keep verifying every
bearer token and enforcing role and jurisdiction; the console shows what they answer."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.console.login import Official
from services.console.settings import ConsoleSettings

SERVICE_NAMES = ("registry", "funds", "projects", "audit")


@dataclass
class Answer:
    """A service's answer: JSON (or bytes) when it succeeded, else the problem it returned."""

    status: int
    data: Any = None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> dict[str, Any]:
        if self.ok:
            return {}
        if isinstance(self.data, dict):
            return self.data
        return {"status": self.status, "detail": f"服务不可用或出错 (the service answered {self.status})"}


class Expired(Exception):
    """The forwarded token was refused (401): the official must log in again."""


DIVISION_CODE = re.compile(r"\d{12}")
CATALOGUED = ("registry", "funds", "projects")


class Backend:
    """The services' clients, and what the pages need to write codes as people read them: the
    services' code lists (``GET /catalogue``, public, loaded once) and the names of divisions
    (``GET /divisions/{code}`` with the official's token, each code asked once)."""

    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None):
        self.clients = {name: httpx.AsyncClient(base_url=settings.peer_url(name), timeout=120, transport=transport)
                        for name in SERVICE_NAMES}
        self.labels: dict[str, dict[str, dict[str, str]]] = {}  # service → list name → code → 中文
        self.names: dict[str, str] = {}  # division code → name
        self.unnamed: set[str] = set()  # codes the registry does not name (or not to this official)

    async def load_labels(self) -> None:
        """The code lists of the services not loaded yet (a service that cannot answer is asked again later)."""
        for service in (s for s in CATALOGUED if s not in self.labels):
            try:
                response = await self.clients[service].get("/catalogue")
            except httpx.HTTPError:
                continue
            if response.is_success:
                self.labels[service] = {each["name"]: {c["code"]: c["zh"] for c in each["codes"]}
                                        for each in response.json()["lists"]}

    async def load_names(self, official: Official, codes: set[str]) -> None:
        """The names of these divisions (and of those above them: the registry answers any code it keeps)."""
        wanted = sorted(c for c in codes if DIVISION_CODE.fullmatch(c) and c not in self.names and c not in self.unnamed)
        limit = asyncio.Semaphore(8)

        async def one(code: str) -> None:
            async with limit:
                answer = await self.get(official, "registry", f"/divisions/{code}")
            if answer.ok and isinstance(answer.data, dict):
                self.names[code] = (answer.data.get("as_of") or {}).get("name") or answer.data["name"]
            elif answer.status in (403, 404, 422):
                self.unnamed.add(code)

        await asyncio.gather(*(one(code) for code in wanted))

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(self, official: Official, service: str, method: str, path: str, *, params=None, json=None,
                   files=None, key: str | None = None, raw: bool = False) -> Answer:
        headers = {"Authorization": f"Bearer {official.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = await self.clients[service].request(method, path, params=params, json=json, files=files,
                                                            headers=headers)
        except httpx.HTTPError as exc:
            return Answer(503, {"status": 503, "detail": f"{service}服务无法连接 ({service} unreachable: {type(exc).__name__})"})
        if response.status_code == 401:
            raise Expired(service)
        type_ = response.headers.get("content-type", "")
        data = response.json() if "json" in type_ and (not raw or not response.is_success) else None
        return Answer(response.status_code, data, response.content,
                      {k: v for k, v in response.headers.items() if k in ("content-type", "content-disposition")})

    async def get(self, official: Official, service: str, path: str, **params) -> Answer:
        return await self.call(official, service, "GET", path,
                               params={k: v for k, v in params.items() if v not in (None, "")})


def idempotency_key(official: Official, *parts: bytes | str) -> str:
    """The key of an upload: the same file and form sent again by the same official replays the
    first answer rather than writing twice."""
    digest = hashlib.sha256(official.sub.encode())
    for part in parts:
        digest.update(b"\0" + (part.encode() if isinstance(part, str) else part))
    return "console-" + digest.hexdigest()[:48]
