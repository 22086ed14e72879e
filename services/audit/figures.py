"""The figures an audit report shows beside its findings (DOMAIN §8), from the rebuilt state as of
the date: money flows by operation and channel, balances by kind, registry totals. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.audit.rebuild import Rebuilt
from services.funds.contract import CHANNEL_LABELS, KIND_LABELS, OPERATION_LABELS
from shared.money import format_fen

OPERATION_ORDER = ("appropriate", "allocate", "integrate", "commit", "disburse", "payment_return", "decommit", "strand", "return",
                   "reallocate", "reverse", "carry_forward")


def figures(rebuilt: Rebuilt, prefix: str, as_of: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rebuilt.funds is not None:
        out["money_flows"] = money_flows(rebuilt, prefix)
        out["balances_by_kind"] = balances_by_kind(rebuilt, prefix)
    if rebuilt.registry is not None:
        stats = rebuilt.registry.statistics(prefix, as_of.year)
        out["registry"] = {"year": as_of.year, "registered": stats.registered.as_dict(),
                           "remaining": stats.remaining.as_dict(), "exits_total": stats.exits_total.as_dict(),
                           "exits": {str(y): c.as_dict() for y, c in stats.exits.items()},
                           "poverty_rate_percent": stats.poverty_rate_percent,
                           "lacking_helper": len(stats.lacking_helper), "lacking_measure": len(stats.lacking_measure)}
    if rebuilt.projects is not None:
        out["projects"] = rebuilt.projects.summary()
    return out


def money_flows(rebuilt: Rebuilt, prefix: str) -> list[dict[str, Any]]:
    """Sum of the postings by operation and channel that leave or enter the jurisdiction's accounts."""
    refused = {id(r) for r, _, _ in rebuilt.funds.refused}
    totals: dict[tuple[str, str], list[int]] = {}
    for record in rebuilt.funds.postings:
        p = record.posting
        if id(record) in refused or not (p.from_.division.startswith(prefix) or p.to.division.startswith(prefix)):
            continue
        entry = totals.setdefault((p.operation, p.from_.channel), [0, 0])
        entry[0] += 1
        entry[1] += p.amount_fen
    order = {op: i for i, op in enumerate(OPERATION_ORDER)}
    return [{"operation": op, "label": OPERATION_LABELS.get(op, op), "channel": channel,
             "channel_label": CHANNEL_LABELS.get(channel, channel), "postings": count, "amount_fen": amount,
             "amount": format_fen(amount)}
            for (op, channel), (count, amount) in sorted(totals.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1]))]


def balances_by_kind(rebuilt: Rebuilt, prefix: str) -> list[dict[str, Any]]:
    totals: dict[str, int] = {}
    for key, value in rebuilt.funds.balances.items():
        if key.division.startswith(prefix):
            totals[key.kind] = totals.get(key.kind, 0) + value
    return [{"kind": kind, "label": KIND_LABELS.get(kind, kind), "amount_fen": amount, "amount": format_fen(amount)}
            for kind, amount in sorted(totals.items())]
