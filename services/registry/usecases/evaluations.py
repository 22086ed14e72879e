"""Use case of the error-rate evaluation: the division's figures for a year from the registry's
rows (households, grievances, the annual reviews' announcements), judged by
``domain.error_rates`` against the rules in force at the end of the year."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from services.registry.county_models import Grievance
from services.registry.domain import error_rates
from services.registry.domain.workflow import ON_ROLL
from services.registry.models import Household, StatusChange
from shared import divisions
from shared.announcements.models import Announcement

RATE_RULE, INTERVAL_RULE = "evaluation.error_rate_max", "household.review.interval"


async def _substantiated(session, prefix: str, category: str, year: int | None) -> list[Grievance]:
    """Substantiated grievances of a category, answered in ``year`` (None: whenever)."""
    query = select(Grievance).where(Grievance.division.startswith(prefix), Grievance.category == category,
                                    Grievance.outcome.in_(error_rates.SUBSTANTIATED))
    if year is not None:
        query = query.where(Grievance.answered_on.between(date(year, 1, 1), date(year, 12, 31)))
    return list((await session.execute(query)).scalars())


def _linked_households(grievances: list[Grievance]) -> tuple[set[str], int]:
    """(household refs linked, grievances with none)."""
    refs = {link["ref"] for g in grievances for link in g.links if link["kind"] == "household"}
    return refs, sum(not any(link["kind"] == "household" for link in g.links) for g in grievances)


async def evaluate(session, policy, division: str, year: int) -> dict[str, Any]:
    prefix = divisions.prefix(division)
    end = date(year, 12, 31)
    rule = policy.lookup(RATE_RULE, division, end)
    exited = list((await session.execute(select(Household.id, Household.number).where(
        Household.division.startswith(prefix), Household.exited_on.between(date(year, 1, 1), end)))).all())
    exit_refs, _ = _linked_households(await _substantiated(session, prefix, "exit", None))
    wrongly = sum(str(h.id) in exit_refs or h.number in exit_refs for h in exited)
    missed_refs, unlinked = _linked_households(await _substantiated(session, prefix, "identification", year))
    on_roll = await _on_roll_at(session, prefix, end)
    interval = policy.lookup(INTERVAL_RULE, division, end)
    last_review = await session.scalar(select(func.max(Announcement.period_end)).where(
        Announcement.subject_type == "annual_review", Announcement.division.startswith(prefix[:6]),
        Announcement.status == "closed", Announcement.outcome == "passed"))
    return {
        "division": division, "year": year,
        "wrongful_exit_rate": error_rates.wrongful_exit_rate(
            len(exited), wrongly, rule.value["wrongful_exit_max_percent"]).as_dict(),
        "missed_identification_rate": error_rates.missed_rate(
            on_roll, len(missed_refs) + unlinked, rule.value["missed_identification_max_percent"]).as_dict(),
        "rule": {"id": rule.id, "citation": rule.citation, "title": rule.title},
        "review": {**error_rates.review_schedule(last_review and last_review.year, interval.value["years"], year),
                   "rule": {"id": interval.id, "citation": interval.citation}},
    }


async def _on_roll_at(session, prefix: str, day: date) -> int:
    """Households whose last status change on or before ``day`` left them on the roll."""
    latest = (select(StatusChange.household_id, StatusChange.status,
                     func.row_number().over(partition_by=StatusChange.household_id,
                                            order_by=(StatusChange.effective_on.desc(), StatusChange.seq.desc()))
                     .label("n"))
              .join(Household, Household.id == StatusChange.household_id)
              .where(Household.division.startswith(prefix), StatusChange.effective_on <= day).subquery())
    return await session.scalar(select(func.count()).select_from(latest).where(
        latest.c.n == 1, latest.c.status.in_(ON_ROLL))) or 0
