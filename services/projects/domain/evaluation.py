"""绩效评价 of an accepted project: each performance target (绩效目标, 国开办发〔2018〕10号) against
its actual, and a rating by the policy's scheme (rule ``project.performance.rating``:
财农〔2017〕115号 — scoring and rating combined). Pure.

Method, exactly:

1. **A target** is a number with an optional comparator and percent sign: ``"500"``, ``"≥95%"``,
   ``"≤3"`` (``>=``/``<=`` too). Without a comparator, more is better. A target that is not a
   number cannot be evaluated and is named.
2. **Completion** of an indicator: actual ÷ target when more is better; target ÷ actual when less
   is better (an actual of 0 against "≤" completes it). Capped at the scheme's
   ``completion_cap_percent``; a zero target is complete.
3. **Score** = Σ over the n indicators of (100 ÷ n) × completion, an exact fraction; shown with
   two decimals (half up).
4. **Rating**: the first band (highest ``min_score`` first) whose ``min_score`` the exact score
   reaches: 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below, as the shipped rule says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Mapping, Sequence

_TARGET = re.compile(r"^\s*(≥|>=|≤|<=)?\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


class EvaluationError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Indicator:
    kind: str
    indicator: str
    unit: str
    target: str
    actual: str
    more_is_better: bool
    completion: Fraction
    points: Fraction

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "indicator": self.indicator, "unit": self.unit, "target": self.target,
                "actual": self.actual, "direction": "at_least" if self.more_is_better else "at_most",
                "completion_percent": two_places(self.completion * 100), "points": two_places(self.points),
                "met": self.completion >= 1}


@dataclass(frozen=True)
class Evaluation:
    indicators: list[Indicator]
    score: Fraction
    rating: str
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"indicators": [i.as_dict() for i in self.indicators], "score": two_places(self.score),
                "rating": self.rating, "rating_label": self.label}


def two_places(value: Fraction) -> str:
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def parse_target(text: str) -> tuple[Fraction, bool] | None:
    """(value, more is better) of a target, or None when it is not a number (step 1)."""
    match = _TARGET.match(text)
    if match is None:
        return None
    return Fraction(match.group(2)), match.group(1) not in ("≤", "<=")


def completion(target: Fraction, actual: Fraction, more_is_better: bool, cap: Fraction) -> Fraction:
    """Step 2."""
    if more_is_better:
        done = Fraction(1) if target == 0 else actual / target
    else:
        done = Fraction(1) if actual <= target else target / actual
    return min(done, cap)


def rating(score: Fraction, bands: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """Step 4: (rating, label) of the first band the score reaches."""
    for band in sorted(bands, key=lambda b: -Fraction(str(b["min_score"]))):
        if score >= Fraction(str(band["min_score"])):
            return band["rating"], band["label"]
    raise EvaluationError("score", f"no band of the rating scheme covers {two_places(score)}")


def evaluate(targets: Sequence[Mapping[str, Any]], actuals: Mapping[str, str], scheme: Mapping[str, Any]) -> Evaluation:
    """Every target against its actual (``actuals``: indicator → number as text), scored and rated."""
    if not targets:
        raise EvaluationError("targets", "项目没有绩效目标 (the project has no performance targets)")
    unknown = sorted(set(actuals) - {t["indicator"] for t in targets})
    if unknown:
        raise EvaluationError("actuals", f"不是本项目的绩效指标 (not an indicator of this project: {'、'.join(unknown)})")
    cap = Fraction(int(scheme["completion_cap_percent"]), 100)
    weight = Fraction(100, len(targets))
    out = []
    for i, t in enumerate(targets):
        parsed = parse_target(t["target"])
        if parsed is None:
            raise EvaluationError(f"targets.{i}.target", f"绩效目标“{t['indicator']}”的目标值不是数值，无法评价 "
                                                         f"(target {t['target']!r} is not a number)")
        if t["indicator"] not in actuals:
            raise EvaluationError("actuals", f"缺少指标“{t['indicator']}”的实际完成值 (no actual for {t['indicator']!r})")
        actual = parse_target(actuals[t["indicator"]])
        if actual is None or not actuals[t["indicator"]].strip()[0].isdigit():
            raise EvaluationError("actuals", f"指标“{t['indicator']}”的实际值须为数值 (the actual of {t['indicator']!r} "
                                             f"must be a number, got {actuals[t['indicator']]!r})")
        done = completion(parsed[0], actual[0], parsed[1], cap)
        out.append(Indicator(t.get("kind", "output"), t["indicator"], t.get("unit", ""), t["target"],
                             actuals[t["indicator"]], parsed[1], done, weight * done))
    score = sum((i.points for i in out), Fraction(0))
    rated, label = rating(score, scheme["bands"])
    return Evaluation(out, score, rated, label)
