"""The client address through the real app and PostgreSQL: the objection rate limit counts the TCP
peer unless the peer is a configured trusted proxy, and then the villager the proxy names."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import httpx
import uvicorn

from shared.web.serve import server_config
from tests.service.test_announcements import build, clock_at, published, START


@asynccontextmanager
async def peer(app, address: str):
    """A client whose TCP peer address is ``address`` (what the server sees)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def objection(client, announcement_id, **headers):
    return await client.post(f"/public/announcements/{announcement_id}/objections",
                             json={"text": "王某家庭收入较高，不符合条件。"}, headers=headers)


async def test_a_forged_forwarded_header_does_not_change_the_bucket(databases):
    settings = await databases.new("registry", objection_rate_limit=2)
    app = build(settings, clock_at(START))
    async with app.router.lifespan_context(app), peer(app, "203.0.113.9") as client:
        announcement_id = await published(client, settings)
        statuses = [(await objection(client, announcement_id, **{"X-Forwarded-For": f"198.51.100.{n}",
                                                                  "Forwarded": f"for=198.51.100.{n}"})).status_code
                    for n in range(3)]
    assert statuses == [201, 201, 429]


async def test_behind_a_trusted_proxy_two_villagers_get_two_buckets(databases):
    settings = await databases.new("registry", objection_rate_limit=2, forwarded_allow_ips="10.0.0.0/8")
    app = build(settings, clock_at(START))
    async with app.router.lifespan_context(app), peer(app, "10.0.0.2") as proxy:
        announcement_id = await published(proxy, settings)

        async def from_villager(address: str, forged: str = "6.6.6.6") -> int:
            # the proxy appends the address it saw to whatever the villager sent
            return (await objection(proxy, announcement_id, **{"X-Forwarded-For": f"{forged}, {address}"})).status_code

        assert [await from_villager("198.51.100.1", forged=f"7.7.7.{n}") for n in range(2)] == [201, 201]
        assert [await from_villager("198.51.100.2") for _ in range(2)] == [201, 201]
        assert await from_villager("198.51.100.1") == 429  # a forged left entry did not make a new bucket
        assert await from_villager("198.51.100.3") == 201


async def test_without_the_proxy_header_the_proxy_itself_is_the_client(databases):
    settings = await databases.new("registry", objection_rate_limit=1, forwarded_allow_ips="10.0.0.2")
    app = build(settings, clock_at(START))
    async with app.router.lifespan_context(app), peer(app, "10.0.0.2") as proxy:
        announcement_id = await published(proxy, settings)
        assert (await objection(proxy, announcement_id)).status_code == 201
        assert (await objection(proxy, announcement_id)).status_code == 429


async def test_the_served_app_does_not_believe_a_local_peer_either(databases):
    """Through a real uvicorn server configured as ``python -m services.<name>`` configures it: a client on
    127.0.0.1 (uvicorn's default trusted proxy) still cannot pick its bucket with a header."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = await databases.new("registry", objection_rate_limit=2, port=port)
    app = build(settings, clock_at(START))
    server = uvicorn.Server(server_config(app, settings))
    running = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            announcement_id = await published(client, settings)
            statuses = [(await objection(client, announcement_id, **{"X-Forwarded-For": f"198.51.100.{n}"})).status_code
                        for n in range(3)]
    finally:
        server.should_exit = True
        await running
    assert statuses == [201, 201, 429]
