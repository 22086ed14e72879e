"""绩效评价 of accepted projects: the use case that records an evaluation (the pure method is
``domain/evaluation.py``), the part of the results announcement that shows it, and the county's
evaluation report.

Guarantees:

1. Only a project that passed acceptance (stage accepted, results announced or handed over) is
   evaluated, by the county office; every target must have its actual; the rating follows the
   rule ``project.performance.rating`` in force on the evaluation date, whose citation is stored
   with the evaluation. A refused evaluation writes nothing.
2. An evaluation is written with its event ``projects.evaluation.recorded`` (indicators, score,
   rating, citation); a later one replaces the row and is a new event (the log keeps both).
3. The system's own figures — beneficiary households and persons, money paid, benefits recorded —
   are shown beside the indicators, so a reader can check the actuals the office gave.
4. The county report lists every accepted project of the year under the division, evaluated or
   not (``rating`` null, ``evaluated`` false): none is left out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from services.projects.usecases import projects
from services.projects.api.views import beneficiary_totals, fundings
from services.projects.domain import evaluation as method
from services.projects.models import BenefitRecord, Project
from services.projects.results_models import Evaluation
from shared import divisions
from shared.errors import NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen
from shared.policy import PolicyTable

RULE = "project.performance.rating"
EVALUATED_STAGES = ("accepted", "results_announced", "handed_over")


async def system_figures(session, code: str) -> dict[str, Any]:
    households, persons = (await beneficiary_totals(session, [code])).get(code, (0, 0))
    money = (await fundings(session, [code]))[code]
    benefits = await session.scalar(select(func.coalesce(func.sum(BenefitRecord.amount_fen), 0))
                                    .where(BenefitRecord.code == code))
    return {"beneficiary_households": households, "beneficiary_persons": persons, "paid": money.as_dict()["paid"],
            "benefits": format_fen(int(benefits))}


def view(row: Evaluation) -> dict[str, Any]:
    return {"code": row.code, "on": row.on.isoformat(), "indicators": row.indicators, "score": row.score,
            "rating": row.rating, "rating_label": row.rating_label, "citation": row.citation}


async def record(session, project: Project, actuals: dict[str, str], policy: PolicyTable, on: date, actor,
                 ) -> dict[str, Any]:
    projects.require_stage(project, EVALUATED_STAGES)
    found = projects.rule(policy, RULE, project.division, on)
    try:
        result = method.evaluate(project.targets, actuals, found.value)
    except method.EvaluationError as exc:
        raise Unprocessable(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}]) from None
    body = {**result.as_dict(), "citation": found.citation}
    [stored] = await append(session, [NewEvent("projects.evaluation.recorded", project.code, {
        "code": project.code, "division": project.division, "on": on.isoformat(), **body}, actor)])
    row = await session.get(Evaluation, project.code)
    if row is None:
        row = Evaluation(code=project.code, on=on, indicators=[], score="", rating="", rating_label="", citation="", seq=0)
        session.add(row)
    row.on, row.indicators, row.score, row.seq = on, body["indicators"], body["score"], stored["seq"]
    row.rating, row.rating_label, row.citation = body["rating"], body["rating_label"], body["citation"]
    await session.flush()
    return {**view(row), "system_figures": await system_figures(session, project.code)}


async def announced_part(session, code: str) -> tuple[str, dict[str, Any] | None]:
    """The sentence and the evaluation the results announcement carries (none before evaluation)."""
    row = await session.get(Evaluation, code)
    if row is None:
        return "", None
    met = sum(1 for i in row.indicators if i["met"])
    return (f"绩效评价综合得分{row.score}分，等级为“{row.rating_label}”，{len(row.indicators)}项绩效目标完成{met}项。",
            {"score": row.score, "rating_label": row.rating_label,
             "indicators": [[i["indicator"], f"{i['target']}{i['unit']}", f"{i['actual']}{i['unit']}",
                             f"{i['completion_percent']}%"] for i in row.indicators]})


async def county_report(session, division: str, year: int) -> dict[str, Any]:
    evaluated = list((await session.execute(select(Project).where(
        Project.division.startswith(divisions.prefix(division)), Project.year == year,
        Project.stage.in_(EVALUATED_STAGES)).order_by(Project.code))).scalars())
    rows = {e.code: e for e in (await session.execute(select(Evaluation).where(
        Evaluation.code.in_([p.code for p in evaluated])))).scalars()}
    items = []
    for p in evaluated:
        e = rows.get(p.code)
        items.append({"code": p.code, "name": p.name, "division": p.division, "stage": p.stage, "evaluated": e is not None,
                      **({"score": e.score, "rating": e.rating, "rating_label": e.rating_label, "on": e.on.isoformat(),
                          "indicators": e.indicators} if e else {"score": None, "rating": None, "rating_label": None,
                                                                  "on": None, "indicators": []}),
                      "targets": p.targets})
    ratings: dict[str, int] = {}
    for item in items:
        if item["rating"]:
            ratings[item["rating_label"]] = ratings.get(item["rating_label"], 0) + 1
    return {"division": division, "year": year, "accepted": len(items),
            "evaluated": sum(1 for i in items if i["evaluated"]), "by_rating": ratings, "items": items}


REPORT_HEADER = ("项目编号", "项目名称", "地点", "绩效指标", "指标类型", "目标值", "实际值", "完成率(%)", "得分",
                 "综合得分", "评价等级")


def report_rows(body: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for item in body["items"]:
        if not item["evaluated"]:
            rows.append([item["code"], item["name"], item["division"], "", "", "", "", "", "", "", "未评价"])
        for i in item["indicators"]:
            rows.append([item["code"], item["name"], item["division"], i["indicator"], i["kind"], f"{i['target']}{i['unit']}",
                         f"{i['actual']}{i['unit']}", i["completion_percent"], i["points"], item["score"],
                         item["rating_label"]])
    return rows


async def read(session, project: Project) -> dict[str, Any]:
    row = await session.get(Evaluation, project.code)
    if row is None:
        raise NotFound(f"项目尚未评价 (project {project.code} has not been evaluated)")
    return {**view(row), "system_figures": await system_figures(session, project.code)}
