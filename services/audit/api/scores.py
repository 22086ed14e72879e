"""Division performance scores (绩效考评) and the next year's factor sheet (因素法分配表), computed
by replaying the services' event feeds (``services/audit/scores.py``). Nothing is stored: every
request is a fresh replay, so any auditor holding the same events gets the same figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import Query, Request
from pydantic import BaseModel, Field

from services.audit import scores
from services.audit.api.audits import peer_logs
from services.audit.api.report_schemas import FactorSheetsOut, ScoresOut
from services.audit.domain.scoring import INVERTED_FACTORS, ScoringError
from shared.auth import Reader, Role, Writer, ensure_jurisdiction, query_scope
from shared.csvfile import csv_response
from shared.divisions import DivisionCode
from shared.errors import Unprocessable
from shared.money import Yuan, format_fen
from shared.policy import NoRuleError
from shared.web import Session, router
from shared.web.export import FORMAT_DESCRIPTION, negotiate

performance = router(prefix="/audit", tags=["performance (绩效考评)"])
Readers = Reader(Role.auditor, Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance,
                 Role.county_office, Role.city_office, Role.province_office)
Allocators = Writer(Role.central_finance, Role.province_finance, Role.city_finance)

SCORE_HEADER = ("区划", "年度", "考评项目", "权重", "完成比例(%)", "得分", "依据", "综合得分")


def score_rows(body: dict[str, Any]) -> list[list[Any]]:
    """The file's rows (``SCORE_HEADER``) from the JSON answer: one per component of each division's score."""
    return [[item["division"], item["year"], c["label"], c["weight"], c["ratio_percent"], c["points"], c["basis"],
             item["score"]] for item in body["items"] for c in item["components"]]


class ReferenceIn(BaseModel):
    farmer_income: str = Field(pattern=r"^\d+(\.\d{1,2})?$", examples=["9500.00"],
                               description="农民人均纯收入, yuan (reference data; inverted in the sheet)")
    fiscal_capacity: str = Field(pattern=r"^\d+(\.\d{1,2})?$", examples=["3200.00"],
                                 description="人均地方财力, yuan (reference data; inverted in the sheet)")


class FactorSheetIn(BaseModel):
    year: int = Field(ge=2014, le=2100, description="the year whose records give the scores; the sheet is for year + 1")
    total: Yuan = Field(description="the whole amount to split among the recipients")
    recipients: dict[DivisionCode, ReferenceIn] = Field(min_length=1, max_length=500)


@performance.get("/scores", summary="Performance scores of a division for a year (绩效考评)",
                 description="Replays every service's events up to the end of the year and scores the division by the "
                 "rule `division.performance.score`: deadlines met, spending progress, stranded money, exits achieved, "
                 "funds per exit, upheld objections, audit findings — each with its weight, ratio, points and the figures "
                 "it rests on. `format=csv` (UTF-8 with BOM) or `xlsx`: one row per component.",
                 responses={200: {"model": ScoresOut}})
async def division_scores(request: Request, principal: Readers, session: Session, year: int = Query(ge=2014, le=2100),
                          division: DivisionCode | None = Query(None, description="default: the caller's division"),
                          format: Literal["json", "csv", "xlsx"] | None = Query(None, description=FORMAT_DESCRIPTION),
                          ) -> Any:
    format = negotiate(request, format)
    scope = query_scope(principal, division)
    loaded = await peer_logs(request, session)
    try:
        found, _ = await scores.in_thread(scores.scores_from, loaded, [scope], year, request.app.state.policy)
    except NoRuleError as exc:
        raise _no_rule(exc) from None
    body = scores.score_report(found, request.app.state.policy, year)
    if format != "json":
        return csv_response(f"绩效考评-{scope}-{year}.csv", SCORE_HEADER, score_rows(body), format)
    return body


@performance.post("/factor-sheets", status_code=201, summary="Generate next year's factor sheet from the scores",
                  description="For each recipient: the poor population (persons still poor at the end of `year`, from "
                  "the registry's events), farmer income and fiscal capacity (reference data in the body, inverted: "
                  "1000000 ÷ yuan) and the performance score of `year` from the system; weights from the rule "
                  "`funds.allocation.factor_weights`. `factor_sheet` is accepted as is by the funds service's "
                  "`POST /allocations`, whose amount must be the receiver's part in `parts` (largest remainder, exact "
                  "to the fen). Nothing is stored.",
                  # outside the group commit: it reads every peer's feed over HTTP, which must not run while
                  # a group holds the audit log's append lock and the other writes wait (shared/web/group_commit.py)
                  openapi_extra={"x-group-commit": False},
                  responses={201: {"model": FactorSheetsOut}})
async def generate_factor_sheet(body: FactorSheetIn, request: Request, principal: Allocators,
                                session: Session) -> dict[str, Any]:
    for code in body.recipients:
        ensure_jurisdiction(principal, code)
    zero = [{"field": f"recipients.{c}.{f}", "reason": "must be greater than 0"}
            for c, r in body.recipients.items() for f in INVERTED_FACTORS if Decimal(getattr(r, f)) == 0]
    if zero:
        raise Unprocessable("逆向因素须大于0 (an inverted factor must be positive)", errors=zero)
    loaded = await peer_logs(request, session)
    try:
        return await scores.in_thread(scores.generate_sheet, loaded, year=body.year, total=format_fen(body.total),
                                      reference={c: r.model_dump() for c, r in body.recipients.items()},
                                      policy=request.app.state.policy)
    except ScoringError as exc:
        raise Unprocessable(str(exc), errors=[{"field": "recipients", "reason": str(exc)}]) from None
    except NoRuleError as exc:
        raise _no_rule(exc) from None


def _no_rule(exc: NoRuleError) -> Unprocessable:
    return Unprocessable(f"该年度没有适用的考评规则 (no scoring rule applies: {exc})",
                         errors=[{"field": "year", "reason": "no division.performance.score or factor weights in force"}])
