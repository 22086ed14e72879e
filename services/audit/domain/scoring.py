"""绩效考评 score of a division for a year (rule ``division.performance.score``, 财农〔2017〕115号:
资金拨付, 资金监管, 资金使用成效) and the factor sheet it feeds (rule
``funds.allocation.factor_weights``, 财农〔2017〕8号 第九条; seed 004 L25). Pure: the audit
service's endpoint and a rebuild from an export call these same functions.

Method, exactly (every ratio an exact fraction in [0, 1]; points = weight × ratio):

====================== ==================================================================
component              ratio
====================== ==================================================================
deadlines_met          deadlines due in the year met ÷ (met + missed); none due → 1
spending_progress      disbursed ÷ received (money allocated into the division, fiscal
                       year = the year), at most 1; nothing received → 1
stranded_money         1 − stranded ÷ received, at least 0; nothing received → 1
exits_achieved         (persons exited in the year ÷ poor persons at its start) ÷
                       ``full_marks_percent``%, at most 1; no poor at the start → 1
funds_per_exit         ``reference_fen`` ÷ (disbursed ÷ persons exited), at most 1;
                       nothing disbursed → 1; disbursed but nobody exited → 0
objections             1 − upheld objections × ``deduct_percent_each``%, at least 0
audit_findings         1 − findings × ``deduct_percent_each``%, at least 0
====================== ==================================================================

The weights must sum to 100; the score is Σ points, exact, shown with two decimals (half up).
In the factor sheet, factors that should favour lower values (income, fiscal capacity) are given
inverted: ``1000000 ÷ value`` in yuan, six decimals (half up); the performance factor is the
score with two decimals; the poor population is the persons still poor at the end of the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Mapping

from services.audit.domain.code_lists import SCORE_COMPONENT

#: The components, in order: code → Chinese label (code list ``score_component``).
COMPONENTS = {c.code: c.zh for c in SCORE_COMPONENT}
INVERTED_FACTORS = ("farmer_income", "fiscal_capacity")


class ScoringError(ValueError):
    pass


@dataclass(frozen=True)
class ScoreInputs:
    """What the records show for a division and year (the edge gathers these from the events)."""

    division: str
    year: int
    deadlines_met: int
    deadlines_missed: int
    received_fen: int
    disbursed_fen: int
    stranded_fen: int
    poor_at_start: int
    exited: int
    objections_upheld: int
    findings: int


@dataclass(frozen=True)
class Component:
    key: str
    weight: int
    ratio: Fraction
    basis: str

    @property
    def points(self) -> Fraction:
        return self.weight * self.ratio

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.key, "label": COMPONENTS[self.key], "weight": self.weight,
                "ratio_percent": two_places(self.ratio * 100), "points": two_places(self.points), "basis": self.basis}


@dataclass(frozen=True)
class DivisionScore:
    inputs: ScoreInputs
    components: list[Component]

    @property
    def score(self) -> Fraction:
        return sum((c.points for c in self.components), Fraction(0))

    def as_dict(self) -> dict[str, Any]:
        i = self.inputs
        return {"division": i.division, "year": i.year, "score": two_places(self.score),
                "components": [c.as_dict() for c in self.components],
                "inputs": {k: v for k, v in vars(i).items() if k not in ("division", "year")}}


def two_places(value: Fraction) -> str:
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _clamp(value: Fraction) -> Fraction:
    return min(max(value, Fraction(0)), Fraction(1))


def _fen(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def ratios(i: ScoreInputs, params: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[Fraction, str]]:
    """Each component's ratio and the figures it rests on (the table of the module doc)."""
    judged = i.deadlines_met + i.deadlines_missed
    got, paid = i.received_fen, i.disbursed_fen
    exit_rate = Fraction(i.exited, i.poor_at_start) if i.poor_at_start else None
    full = Fraction(int(params["exits_achieved"]["full_marks_percent"]), 100)
    reference = int(params["funds_per_exit"]["reference_fen"])
    per_exit = Fraction(paid, i.exited) if i.exited else None
    return {
        "deadlines_met": (Fraction(i.deadlines_met, judged) if judged else Fraction(1),
                          f"到期{judged}项，按期{i.deadlines_met}项，逾期{i.deadlines_missed}项"),
        "spending_progress": (_clamp(Fraction(paid, got)) if got else Fraction(1),
                              f"收到{_fen(got)}元，支出{_fen(paid)}元"),
        "stranded_money": (_clamp(1 - Fraction(i.stranded_fen, got)) if got else Fraction(1),
                           f"滞留{_fen(i.stranded_fen)}元，收到{_fen(got)}元"),
        "exits_achieved": (_clamp(exit_rate / full) if exit_rate is not None else Fraction(1),
                           f"年初贫困人口{i.poor_at_start}人，当年脱贫{i.exited}人"),
        "funds_per_exit": (Fraction(1) if paid == 0 else Fraction(0) if per_exit is None else
                           _clamp(Fraction(reference) / per_exit) if per_exit else Fraction(1),
                           f"支出{_fen(paid)}元，脱贫{i.exited}人，参考值每人{_fen(reference)}元"),
        "objections": (_clamp(1 - i.objections_upheld * Fraction(int(params["objections"]["deduct_percent_each"]), 100)),
                       f"异议成立{i.objections_upheld}件"),
        "audit_findings": (_clamp(1 - i.findings * Fraction(int(params["audit_findings"]["deduct_percent_each"]), 100)),
                           f"审计发现问题{i.findings}项"),
    }


def score(inputs: ScoreInputs, rule_value: Mapping[str, Any]) -> DivisionScore:
    params = rule_value["components"]
    if set(params) != set(COMPONENTS):
        raise ScoringError(f"the rule must weigh exactly {sorted(COMPONENTS)}, got {sorted(params)}")
    if sum(int(p["weight"]) for p in params.values()) != 100:
        raise ScoringError("the weights of division.performance.score must sum to 100")
    found = ratios(inputs, params)
    return DivisionScore(inputs, [Component(key, int(params[key]["weight"]), *found[key]) for key in COMPONENTS])


def inverted(yuan: str) -> str:
    """A factor favouring lower values, inverted: 1000000 ÷ value, six decimals (half up)."""
    value = Decimal(yuan)
    if value <= 0:
        raise ScoringError(f"an inverted factor needs a positive value, got {yuan!r}")
    return str((Decimal(1_000_000) / value).quantize(Decimal("0.000001"), ROUND_HALF_UP))


def factor_sheet(total: str, weights: Mapping[str, int], scores: Mapping[str, DivisionScore],
                 poor_population: Mapping[str, int], reference: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The factor sheet ``POST /allocations`` accepts: {total, weights, recipients}."""
    recipients = {}
    for code in sorted(reference):
        recipients[code] = {"poor_population": poor_population[code],
                            **{f: inverted(reference[code][f]) for f in INVERTED_FACTORS},
                            "performance": two_places(scores[code].score)}
    return {"total": total, "weights": dict(weights), "recipients": recipients}
