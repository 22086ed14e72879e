"""Division performance scores and the next year's factor sheet, from events alone.

Guarantees:

1. **From events only**: every input of a score comes from replaying the services' logs up to the
   end of the year (China time) — the funds ledger and deadline records, the registry's
   households, the announcements and objections of every service, and the compliance findings
   the audit derives from them. Any source of the same events (the services' feeds, an export,
   Kafka) gives the same score: the endpoint and ``fupin audit`` call the same functions.
2. **One definition**: the score is ``services.audit.domain.scoring.score`` with the rule
   ``division.performance.score`` in force on the last day of the year for that division.
3. **A factor sheet the funds service accepts**: ``POST /allocations`` recomputes the parts from
   the sheet exactly as given (largest remainder, to the fen); the parts returned here are that
   same function's.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any, Mapping

from services.audit import compliance
from services.audit.domain.scoring import DivisionScore, ScoreInputs, factor_sheet, score
from services.audit.rebuild import Rebuilt
from services.audit.run import UNREADABLE, Source, cutoff, jurisdiction, replay
from services.funds.contract import allocate_by_factors, evaluate
from shared.clock import CHINA_TZ
from shared.money import format_fen, parse_yuan
from shared.policy import PolicyTable

SCORE_RULE = "division.performance.score"
WEIGHTS_RULE = "funds.allocation.factor_weights"


def _china_year(recorded: str) -> int:
    return datetime.fromisoformat(recorded.replace("Z", "+00:00")).astimezone(CHINA_TZ).year


def objections_upheld(source: Source, prefix: str, year: int) -> int:
    """Objections resolved as upheld during ``year`` on announcements of any service under ``prefix``."""
    upheld = 0
    for service in source.services:
        where: dict[str, str] = {}
        for event, _ in source.stream(service):
            try:
                kind = event["type"].partition(".")[2]
                if kind == "announcement.drafted":
                    where[event["subject"]] = str(event["data"].get("division") or "")
                elif (kind == "objection.resolved" and event["data"].get("decision") == "upheld"
                      and where.get(event["subject"], "").startswith(prefix) and _china_year(event["time"]) == year):
                    upheld += 1
            except UNREADABLE:  # not an event, or not of its type: the verification reports it, not counted here
                continue
    return upheld


def _money(rebuilt: Rebuilt, prefix: str, year: int) -> tuple[int, int, int]:
    """(received, disbursed, stranded) fen of the division's accounts of fiscal year ``year``."""
    refused = {id(r) for r, _, _ in rebuilt.funds.refused}
    received = disbursed = stranded = 0
    for record in rebuilt.funds.postings:
        p = record.posting
        if id(record) in refused:
            continue
        inside_from, inside_to = p.from_.division.startswith(prefix), p.to.division.startswith(prefix)
        if p.operation in ("allocate", "reallocate") and inside_to and not inside_from and p.to.fiscal_year == year:
            received += p.amount_fen
        elif p.operation == "disburse" and inside_from and p.from_.fiscal_year == year:
            disbursed += p.amount_fen
        elif p.operation == "strand" and inside_from and p.from_.fiscal_year == year:
            stranded += p.amount_fen
    return received, disbursed, stranded


def _deadlines(rebuilt: Rebuilt, prefix: str, year: int) -> tuple[int, int]:
    end = date(year, 12, 31)
    met = missed = 0
    for record in rebuilt.funds.deadlines.values():
        if not record.receiver.startswith(prefix) or not record.due or int(record.due[:4]) != year:
            continue
        status = evaluate(compliance._deadline(record), compliance._day(record.met_on), end)
        met += status == "met"
        missed += status == "missed"
    return met, missed


def inputs_of(rebuilt: Rebuilt, findings: int, upheld: int, division: str, year: int) -> ScoreInputs:
    prefix = jurisdiction(division)
    received, disbursed, stranded = _money(rebuilt, prefix, year) if rebuilt.funds else (0, 0, 0)
    met, missed = _deadlines(rebuilt, prefix, year) if rebuilt.funds else (0, 0)
    poor_at_start = exited = 0
    if rebuilt.registry is not None:
        poor_at_start = rebuilt.registry.statistics(prefix, year - 1).remaining.persons
        exits = rebuilt.registry.statistics(prefix, year).exits.get(year)
        exited = exits.persons if exits else 0
    return ScoreInputs(division, year, met, missed, received, disbursed, stranded, poor_at_start, exited, upheld, findings)


def scores_from(source: Source, divisions: list[str], year: int, policy: PolicyTable) -> tuple[dict[str, DivisionScore], Rebuilt]:
    """Guarantees 1 and 2: each division's score, and the state rebuilt to the end of the year."""
    end = date(year, 12, 31)
    rebuilt = replay(source, until=cutoff(end), verify=False).rebuilt
    out = {}
    for division in divisions:
        prefix = jurisdiction(division)
        findings = len(compliance.check(rebuilt, policy, end, prefix))
        inputs = inputs_of(rebuilt, findings, objections_upheld(source, prefix, year), division, year)
        out[division] = score(inputs, policy.value(SCORE_RULE, division, end))
    return out, rebuilt


def score_report(scores: Mapping[str, DivisionScore], policy: PolicyTable, year: int) -> dict[str, Any]:
    any_division = next(iter(scores))
    rule = policy.lookup(SCORE_RULE, any_division, date(year, 12, 31))
    return {"year": year, "rule": {"id": SCORE_RULE, "citation": rule.citation, "title": rule.title},
            "items": [s.as_dict() for s in scores.values()]}


def generate_sheet(source: Source, *, year: int, total: str, reference: Mapping[str, Mapping[str, str]],
                   policy: PolicyTable) -> dict[str, Any]:
    """Guarantee 3: the factor sheet for allocating ``total`` in ``year + 1`` among the divisions of
    ``reference`` (each with farmer_income and fiscal_capacity in yuan), with the parts it gives."""
    codes = sorted(reference)
    scores, rebuilt = scores_from(source, codes, year, policy)
    poor = {c: (rebuilt.registry.statistics(jurisdiction(c), year).remaining.persons if rebuilt.registry else 0)
            for c in codes}
    weights_rule = policy.lookup(WEIGHTS_RULE, codes[0], date(year + 1, 1, 1))
    sheet = factor_sheet(total, weights_rule.value, scores, poor, reference)
    parts = allocate_by_factors(parse_yuan(total), sheet["recipients"], sheet["weights"])
    return {"year": year + 1, "score_year": year, "factor_sheet": sheet,
            "parts": {code: format_fen(fen) for code, fen in parts.items()},
            "weights_rule": {"id": WEIGHTS_RULE, "citation": weights_rule.citation, "title": weights_rule.title},
            "scores": score_report(scores, policy, year)}


async def in_thread(function, *args, **kwargs):
    return await asyncio.to_thread(function, *args, **kwargs)
