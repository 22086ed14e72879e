"""Receipts served by the registry on real PostgreSQL — a household's benefit (authorised like the
household) and a published announcement (public): each one JSON file that verifies offline against
the log's published key; before a signed checkpoint covers the event, 503 with Retry-After."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import asyncpg
import pytest

from services.registry.app import create_app
from services.registry.handlers import on_project_benefits
from shared.clock import SettableClock
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import checkpoints
from shared.events.note import Verifier
from shared.events.receipt import ReceiptError, verify
from shared.events.tree import TreeState
from tests.conftest import serving
from tests.service.answer_models import assert_documented
from tests.service.registry_support import OTHER_VILLAGE, VILLAGE, Registry, family, identify


@pytest.fixture
async def registry(databases, tmp_path):
    settings = await databases.new("registry", data_dir=str(tmp_path))
    clock = SettableClock(datetime(2016, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        yield Registry(settings, client, clock)


async def sign_checkpoint(settings) -> int:
    """What the service's checkpointer does after commit: grow the tree, sign its head."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        tree = await TreeState.load(conn)
        while await tree.grow(conn):
            pass
        await checkpoints.sign(conn, checkpoints.log_signer(settings), tree.size, tree.root)
        return tree.size
    finally:
        await conn.close()


async def record_benefit(settings, household_id: str) -> str:
    """The projects service's wages for the household, as the registry's consumer applies them."""
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, "registry")() as session, session.begin():
            await on_project_benefits(session, [{"id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4()), "data": {
                "household_id": household_id, "project_code": "P-652722-001", "kind": "wages", "amount": "300.00",
                "on": "2016-05-01"}}])
    finally:
        await engine.dispose()


async def test_a_benefit_and_an_announcement_get_receipts_that_verify_offline(registry):
    r = registry
    hid = await identify(r, family(7))
    await record_benefit(r.settings, hid)
    [benefit] = (await r.client.get(f"/households/{hid}/benefits", headers=r.token("village", VILLAGE))).json()["items"]
    path = f"/households/{hid}/benefits/{benefit['id']}/receipt"
    early = await r.client.get(path, headers=r.token("village", VILLAGE))
    assert early.status_code == 503 and early.headers["retry-after"].isdigit()
    assert early.headers["content-type"] == "application/problem+json"

    size = await sign_checkpoint(r.settings)
    key = Verifier.from_key_string((await r.client.get("/.well-known/fupin-keys")).json()["log"][0])
    response = await r.client.get(path, headers=r.token("village", VILLAGE))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith('attachment; filename="receipt-registry-')
    spec = (await r.client.get("/openapi.json")).json()
    assert_documented(spec, "/households/{household_id}/benefits/{benefit_id}/receipt", response.json(),
                      model="ReceiptOut")
    verified = verify(response.content, [key])
    assert (verified.type, verified.subject, verified.tree_size, verified.cosigners) == (
        "registry.benefit.recorded", hid, size, [])  # no witness answered: the origin's signature alone
    assert json.loads(response.content)["event"]["data"]["benefit_id"] == benefit["id"]
    with pytest.raises(ReceiptError):
        verify(response.content.replace(b"300.00", b"3000.00"), [key])

    assert (await r.client.get(path, headers=r.token("village", OTHER_VILLAGE))).status_code in (403, 404)
    assert (await r.client.get(f"/households/{hid}/benefits/{uuid.uuid4()}/receipt",
                               headers=r.token("village", VILLAGE))).status_code == 404

    [notice, *_] = (await r.client.get("/public/announcements")).json()["items"]
    public = await r.client.get(f"/public/announcements/{notice['id']}/receipt")  # no token: public
    assert public.status_code == 200, public.text
    published = verify(public.content, [key])
    assert_documented(spec, "/public/announcements/{announcement_id}/receipt", public.json(), model="ReceiptOut")
    assert published.type == "registry.announcement.published" and published.subject == notice["id"]
    assert "********" in json.loads(public.content)["event"]["data"]["rendered_text"]  # ID numbers masked as published
