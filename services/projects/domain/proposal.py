"""The consistency of a project's plan: the budget is the sum of its planned sources by channel
(每个渠道的计划资金), the schedule runs forwards, performance targets are complete. Pure: returns
field-level problems for the API to answer with (422, field and reason)."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

from shared.money import format_fen


def problems(*, budget_fen: int, sources: Sequence[Mapping[str, Any]], start: date, end: date,
             channels: set[str] | frozenset[str]) -> list[dict[str, str]]:
    """``sources``: [{channel, amount_fen}]. Returns [{field, reason}] (empty when consistent)."""
    found = []
    if end < start:
        found.append({"field": "schedule.end", "reason": "完工日期早于开工日期 (the end is before the start)"})
    planned = sum(s["amount_fen"] for s in sources)
    if planned != budget_fen:
        found.append({"field": "sources",
                      "reason": f"各渠道计划资金合计{format_fen(planned)}元，与预算{format_fen(budget_fen)}元不符 "
                                                    f"(planned sources add up to {format_fen(planned)}, not the budget)"})
    names = [s["channel"] for s in sources]
    for index, name in enumerate(names):
        if name not in channels:
            found.append({"field": f"sources.{index}.channel", "reason": f"未知资金渠道 (unknown fund channel {name!r})"})
        elif names.index(name) != index:
            found.append({"field": f"sources.{index}.channel", "reason": f"渠道重复 (channel {name} listed twice)"})
    return found
