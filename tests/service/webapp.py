"""A small app built with the real factory, for testing the shared web layer apart from any
service's business endpoints."""

from __future__ import annotations

import asyncio

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.announcements import routes as announcements
from shared.auth import Principal, Role, ensure_jurisdiction, require
from shared.divisions import DivisionCode
from shared.errors import NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import Yuan, format_fen
from shared.web import PageParams, create_app, db_session, page_params, router

gates: dict[str, asyncio.Event] = {}


class ThingIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    amount: Yuan
    division: DivisionCode


def build(settings, **options):
    things = router(tags=["things"])

    @things.post("/things", status_code=201, summary="Record a thing (test)")
    async def create_thing(
        body: ThingIn,
        principal: Principal = Depends(require(Role.county_finance, write=True)),
        session=Depends(db_session),
    ) -> dict:
        ensure_jurisdiction(principal, body.division)
        [event] = await append(session, [NewEvent(
            type="test.thing.created", subject=body.name,
            data={"name": body.name, "amount": format_fen(body.amount), "division": body.division},
            actor=principal.actor(),
        )])
        if body.name.startswith("refuse"):  # a rule broken after the event was appended
            raise Unprocessable("拒绝 (refused by rule)", errors=[{"field": "name", "reason": "refused"}])
        if body.name.startswith("crash"):
            raise RuntimeError("boom")
        if body.name in gates:
            await gates[body.name].wait()
        return {"seq": event["seq"], "name": body.name, "amount": format_fen(body.amount),
                "correlation_id": event["correlation_id"]}

    @things.get("/things/{division}", summary="Things of a division (test)")
    async def list_things(
        division: DivisionCode,
        principal: Principal = Depends(require(Role.county_finance)),
        params: PageParams = Depends(page_params),
        session=Depends(db_session),
    ) -> dict:
        ensure_jurisdiction(principal, division)
        after = params.cursor[0] if params.cursor else 0
        rows = (await session.execute(text(
            "SELECT seq, data->>'name' AS name FROM events WHERE data->>'division' = :d AND seq > :after "
            "ORDER BY seq LIMIT :n"), dict(d=division, after=after, n=params.limit + 1))).mappings().all()
        if not rows and after == 0:
            raise NotFound(f"no things in {division}")
        return params.page([dict(r) for r in rows], key_of=lambda r: [r["seq"]]).model_dump()

    return create_app(settings, title="test", description="test app", routers=[*announcements.ROUTERS, things],
                      workers=announcements.WORKERS, **options)
