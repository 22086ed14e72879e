"""Statistics by division and year, and the village and county exit evaluations (贫困发生率) — the
use cases behind ``api/statistics.py``.

The figures are computed by the pure ``domain.statistics`` functions from facts loaded here, so
the auditor, rebuilding the same facts from events, gets the same numbers from the same code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from services.registry.domain.statistics import (
    HouseholdFacts,
    compute_statistics,
    county_exit_evaluation,
    village_exit_evaluation,
)
from shared import divisions
from shared.auth import Principal, ensure_jurisdiction, query_scope
from shared.errors import Unprocessable

_FACTS = text("""
    SELECT h.number, h.division, h.registered_year, h.status, h.main_cause,
           extract(year FROM h.exited_on)::int AS exit_year, extract(year FROM h.returned_on)::int AS returned_year,
           extract(year FROM h.removed_on)::int AS removed_year, h.monitoring ->> 'category' AS monitoring_category,
           h.helper IS NOT NULL AS has_helper,
           (SELECT count(*) FROM measures m WHERE m.household_id = h.id) AS measures,
           count(p.id) AS persons,
           count(p.id) FILTER (WHERE p.labour_capacity IN ('no_labour', 'no_labour_ability')) AS without_labour
    FROM households h JOIN persons p ON p.household_id = h.id
    WHERE h.division LIKE :prefix AND h.registered_year IS NOT NULL
    GROUP BY h.id
""")


async def load_facts(session, prefix: str, year: int) -> tuple[list[HouseholdFacts], dict[str, int]]:
    """The facts at the end of ``year``: a household removed later still counts in earlier years."""
    rows = (await session.execute(_FACTS, {"prefix": prefix + "%"})).mappings()
    facts = [HouseholdFacts(
        household_number=r["number"], division=r["division"], persons=r["persons"],
        persons_without_labour=r["without_labour"], registered_year=r["registered_year"], exit_year=r["exit_year"],
        removed=r["removed_year"] is not None and r["removed_year"] <= year, returned_year=r["returned_year"],
        monitoring_category=r["monitoring_category"],
        has_helper=r["has_helper"], measures=r["measures"], main_cause=r["main_cause"], status=r["status"],
    ) for r in rows]
    population = dict((await session.execute(text(
        "SELECT code, rural_population FROM divisions WHERE code LIKE :prefix AND level = 'village' "
        "AND rural_population IS NOT NULL"), {"prefix": prefix + "%"})).all())
    return facts, population


async def figures(session, principal: Principal, division: str | None, year: int) -> dict[str, Any]:
    """The registry's figures of a division (the caller's own by default) at the end of ``year``."""
    scope = query_scope(principal, division)
    facts, population = await load_facts(session, divisions.prefix(scope), year)
    return compute_statistics(facts, population, division=divisions.prefix(scope), year=year).as_dict()


async def evaluation(session, principal: Principal, division: str, year: int, *, policy) -> dict[str, Any]:
    """A village's 出列 or a county's 摘帽 evaluation against the policy's 贫困发生率 threshold."""
    ensure_jurisdiction(principal, division)
    level = divisions.level(division)
    evaluate = {divisions.Level.VILLAGE: village_exit_evaluation, divisions.Level.COUNTY: county_exit_evaluation}.get(level)
    if evaluate is None:
        raise Unprocessable("只评估村或县 (only villages and counties are evaluated)",
                            errors=[{"field": "division", "reason": f"{level.value} code"}])
    prefix = divisions.prefix(division)
    facts, population = await load_facts(session, prefix, year)
    stats = compute_statistics(facts, population, division=prefix, year=year)
    result = evaluate(policy, division, year, stats)
    return {"division": division, "level": level.value, "year": year, "eligible": result.eligible,
            "poverty_rate_percent": result.rate_percent, "threshold_percent": result.threshold_percent,
            "remaining": stats.remaining.as_dict(), "rural_population": stats.rural_population,
            "citation": result.citation}
