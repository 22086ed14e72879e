"""Figures of the funds reports, computed from plain rows (so the auditor can compute them too).

* :func:`deadline_compliance` — per receiving division and deadline kind: deadlines met on time,
  missed (including those settled late), still open and already overdue, the compliance rate over
  the settled ones, and the days from receipt to settlement (DOMAIN §8 "days from receipt to
  onward allocation").
* :func:`stranded_due` — when stranded money of a fiscal year must be back at the provincial
  treasury: 31 December of the next fiscal year (``funds.stranded.return``, seed 004 L27).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from shared.policy import NoRuleError, PolicyTable

__all__ = ["deadline_compliance", "percent", "stranded_due"]


def deadline_compliance(rows: Iterable[Mapping[str, Any]], today: date) -> list[dict[str, Any]]:
    """``rows``: deadline records (``receiver``, ``kind``, ``state``, ``due``, ``basis_on``,
    ``settled_on``). Returns one summary per (receiver, kind), sorted."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        g = groups.setdefault((row["receiver"], row["kind"]), {
            "receiver": row["receiver"], "kind": row["kind"], "total": 0, "met": 0, "missed": 0, "open": 0,
            "open_overdue": 0, "settled_late": 0, "withdrawn": 0, "_days": []})
        g[row["state"]] += 1
        if row["state"] == "withdrawn":  # its allocation was reversed: no obligation left, not counted
            continue
        g["total"] += 1
        if row["state"] == "open" and row["due"] is not None and row["due"] < today:
            g["open_overdue"] += 1  # the scheduler has not yet marked it; counted, not hidden
        if row.get("settled_on") is not None:
            g["_days"].append((row["settled_on"] - row["basis_on"]).days)
            if row["state"] == "missed":
                g["settled_late"] += 1
    out = []
    for key in sorted(groups):
        g = groups.pop(key)
        days = sorted(g.pop("_days"))
        settled = g["met"] + g["missed"]
        g["compliance_percent"] = None if not settled else percent(g["met"], settled)
        g["days_to_settle"] = None if not days else {
            "min": days[0], "median": days[len(days) // 2], "max": days[-1]}
        out.append(g)
    return out


def percent(part: int, whole: int) -> str:
    """``part / whole`` as a percentage with two decimals, rounded half up (exact integers)."""
    hundredths = (part * 10000 * 2 + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def stranded_due(policy: PolicyTable, division: str, fiscal_year: int, on: date) -> tuple[date, str, str] | None:
    """(due date, rule id, citation) for stranded money of ``fiscal_year`` held by ``division``,
    by the rule in force on ``on``; None where no rule applies."""
    try:
        rule = policy.lookup("funds.stranded.return", division, on)
    except NoRuleError:
        return None
    return date(fiscal_year + 1, 12, 31), rule.id, rule.citation
