"""Duplicate candidates (疑似重复): the county's report and the review — HTTP → one use case of
``services.registry.usecases.duplicates``."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Path, Request
from pydantic import BaseModel, Field, model_validator

from services.registry.api import exports
from services.registry.api.schemas import DuplicateReviewedOut, DuplicatesOut
from services.registry.usecases import duplicates
from shared.auth import Reader, Role, Writer, query_scope
from shared.divisions import DivisionCode
from shared.web import Session, router
from shared.web.export import exportable

duplicate_router = router(tags=["duplicates (查重)"])


class ReviewIn(BaseModel):
    outcome: Literal["not_duplicate", "confirmed"]
    keep: uuid.UUID | None = Field(None, description="confirmed: the person record that stays (person or other)")
    reason: str = Field(min_length=2, max_length=1000)

    @model_validator(mode="after")
    def _keep_when_confirmed(self):
        if self.outcome == "confirmed" and self.keep is None:
            raise ValueError("keep is required when the duplicate is confirmed")
        return self


@duplicate_router.get(
    "/reports/duplicates", summary="Open duplicate candidates (疑似重复人员清单)",
    description="Pairs flagged on proposal or import — the same person under an ID number one digit or one swap "
    "away, or the same name (traditional and simplified alike) with the same birth date and sex in the county — "
    "highest score first, ID numbers masked. Nothing is merged until reviewed.",
    responses={200: {"model": DuplicatesOut}})
@exportable(exports.DUPLICATES)
async def report(division: DivisionCode | None = None,
                 *, principal: Reader(Role.township, Role.county_office, Role.city_office,
                                                        Role.province_office),
                 session: Session) -> dict[str, Any]:
    items = await duplicates.open_report(session, query_scope(principal, division))
    return {"count": len(items), "items": items}


@duplicate_router.post(
    "/duplicates/{candidate_id}/review", summary="Review a duplicate candidate",
    description="`not_duplicate` closes the pair; `confirmed` keeps the record named in `keep` and makes the other "
    "person inactive (marked as a duplicate of the kept one). County office.",
    responses={200: {"model": DuplicateReviewedOut}})
async def review(body: ReviewIn, request: Request, candidate_id: uuid.UUID = Path(),
                 *, principal: Writer(Role.county_office),
                 session: Session) -> dict[str, Any]:
    row = await duplicates.review(session, principal, candidate_id, outcome=body.outcome, keep=body.keep,
                                  reason=body.reason, clock=request.app.state.clock)
    return {"id": str(row.id), "status": row.status, "kept_id": row.kept_id and str(row.kept_id)}
