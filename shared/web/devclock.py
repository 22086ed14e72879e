"""The development clock: read it, and set or advance it when the service runs on a settable one.

Demos and rehearsals start the services with ``FUPIN_CLOCK`` (a settable clock) and move time
with ``POST /dev/clock`` — e.g. past a 10-day publicity period, or past a fund deadline — so the
schedulers do what they would do on those days. Refused in production and on the real clock.
Not a business write: no event (the events' recorded ``time`` is what the clock says).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, model_validator

from shared.auth import Principal, require
from shared.clock import SettableClock
from shared.errors import Conflict

router = APIRouter(prefix="/dev", tags=["operations"])
Admin = Annotated[Principal, Depends(require("admin", write=True))]


class ClockMove(BaseModel):
    set: datetime | None = Field(None, description="jump to this aware ISO datetime")
    advance_days: float | None = Field(None, ge=0, le=3660, description="move forward this many days")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.set is None) == (self.advance_days is None):
            raise ValueError("给出 set 或 advance_days 之一 (give exactly one of set, advance_days)")
        if self.set is not None and self.set.tzinfo is None:
            raise ValueError("set 必须带时区 (set must include a UTC offset)")
        return self


class ClockOut(BaseModel):
    now: str = Field(description="now, UTC (ISO 8601)")
    today: str = Field(description="the business date in China (ISO date)")
    settable: bool = Field(description="whether POST /dev/clock may move it")


def _reading(request: Request) -> dict:
    clock = request.app.state.clock
    return {"now": clock.now().isoformat(), "today": clock.today().isoformat(),
            "settable": isinstance(clock, SettableClock) and request.app.state.settings.env != "production"}


@router.get("/clock", summary="The service's clock: now (UTC), today (business date in China) and whether it can be moved",
            responses={200: {"model": ClockOut}})
async def read_clock(request: Request) -> dict:
    """Now (UTC), today (the business date in China) and whether the clock can be moved."""
    return _reading(request)


@router.post("/clock", summary="Set or advance a settable clock (development only, admin)",
             responses={200: {"model": ClockOut},
                        409: {"description": "the service runs on the real clock or in production"}})
async def move_clock(body: ClockMove, request: Request, _: Admin) -> dict:
    """Jump to a datetime or advance by days, on a service started with FUPIN_CLOCK; refused in production and on the
    real clock."""
    clock = request.app.state.clock
    if not _reading(request)["settable"]:
        raise Conflict("时钟不可调整 (this service runs on the real clock or in production; start it with FUPIN_CLOCK)",
                       slug="clock-not-settable")
    if body.set is not None:
        clock.set(body.set)
    else:
        clock.advance(days=body.advance_days)
    return _reading(request)
