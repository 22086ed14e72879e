"""The error-rate evaluation (错退率、漏评率): HTTP → ``services.registry.usecases.evaluations``."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request

from services.registry.api.schemas import ErrorRatesOut
from services.registry.usecases import evaluations
from shared.auth import Reader, Role, ensure_jurisdiction
from shared.divisions import DivisionCode
from shared.web import Session, router

error_rates = router(tags=["statistics (统计)"])


@error_rates.get(
    "/evaluations/{division}/error-rates", summary="错退率 and 漏评率 against the assessment's 2%",
    description="For the division and year: wrongful exits (households exited in the year about which an `exit` "
    "grievance was answered substantiated) over the year's exits, and missed households (substantiated "
    "`identification` grievances) over the households on the roll at year end plus those missed — each below the "
    "maximum of `evaluation.error_rate_max` (2%) or not, with the rule's citation; and the review interval "
    "(`household.review.interval`: the last passed annual review and when the next is due).",
    responses={200: {"model": ErrorRatesOut}})
async def error_rate_evaluation(request: Request, division: DivisionCode, year: int = Query(ge=2014, le=2100),
                                *, principal: Reader(Role.township, Role.county_office,
                                                                       Role.city_office, Role.province_office),
                                session: Session) -> dict[str, Any]:
    ensure_jurisdiction(principal, division)
    return await evaluations.evaluate(session, request.app.state.policy, division, year)
