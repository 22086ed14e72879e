"""Statistics by division and year, and the village and county exit evaluations (贫困发生率):
HTTP → one use case of ``services.registry.usecases.statistics``."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request

from services.registry.api import exports
from services.registry.api.schemas import EvaluationOut, StatisticsOut
from services.registry.usecases import statistics as usecase
from shared.auth import Reader, Role
from shared.divisions import DivisionCode
from shared.web import Session, router
from shared.web.export import exportable

statistics = router(tags=["statistics (统计)"])
READERS = (Role.village, Role.township, Role.county_office, Role.county_finance, Role.city_office,
           Role.province_office, Role.department)


@statistics.get("/statistics", summary="Registry figures of a division at the end of a year",
                description="Registered households/persons, with and without labour capacity, exits per year, "
                "remaining poor, 贫困发生率, returns, monitored households by category, households lacking a "
                "helper or a measure, and a per-township breakdown. As a spreadsheet (`?format=csv|xlsx`): one row "
                "for the division and one per township.", responses={200: {"model": StatisticsOut}})
@exportable(exports.STATISTICS)
async def figures(request: Request, division: DivisionCode | None = None, year: int = Query(ge=2014, le=2100),
                  *, principal: Reader(*READERS), session: Session) -> dict[str, Any]:
    return await usecase.figures(session, principal, division, year)


@statistics.get("/evaluations/{division}", summary="Village 出列 or county 摘帽 evaluation (贫困发生率 threshold)",
                description="A village or county exits when its headcount ratio is below 2% (3% in the western "
                "provinces), per the policy table.", responses={200: {"model": EvaluationOut}})
async def evaluation(request: Request, division: DivisionCode, year: int = Query(ge=2014, le=2100),
                     *, principal: Reader(*READERS), session: Session) -> dict[str, Any]:
    return await usecase.evaluation(session, principal, division, year, policy=request.app.state.policy)
