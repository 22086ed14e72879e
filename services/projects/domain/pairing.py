"""百企千村 enterprise pairings (seed 004 L75): an enterprise paired with poor villages for some
years, its quantified commitments for each year, and what its projects actually achieved. Pure.

Guarantees:

1. **An enterprise is named by a valid 统一社会信用代码** (GB 32100-2015): 18 characters, the 18th
   the check character of the first 17 (python-stdnum's ``cn.uscc``); anything else is refused
   with the reason, never stored.
2. **Every commitment is a whole number**: villages, households and labourers as counts, income
   and investment in fen; every year of the pairing has exactly one set of commitments.
3. **Actuals come from records the system already keeps** — the beneficiaries of the pairing's
   projects (households and their villages), the benefits recorded to them (income; wages prove a
   labourer's work), the disbursements to the projects (investment) — never from a figure typed in.
   A labourer on the enterprise's roster counts only when the household received wages from one of
   the pairing's projects in that year; everyone not counted is listed with the reason.
4. **A gap is target − actual when positive, else 0**; each line of the report carries the
   households or persons behind its number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

#: Kinds of enterprise (企业类型), as the pairing registers them.
ENTERPRISE_TYPES = {"state_owned": "国有企业", "private": "民营企业", "collective": "集体企业",
                    "foreign": "外资企业", "cooperative": "农民专业合作社", "other": "其他"}

#: The commitments of a year, with their labels and units (money in fen).
COMMITMENTS = {"villages": ("带动贫困村", "个"), "households": ("带动贫困户", "户"),
               "labourers": ("吸纳贫困劳动力就业", "人"), "income_fen": ("带动贫困户增收", "元"),
               "investment_fen": ("投资", "元")}


class PairingError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def credit_code(value: str) -> str:
    """The 统一社会信用代码 in its compact form, or :class:`PairingError` naming what is wrong."""
    try:
        return uscc.validate(value)
    except ValidationError as exc:
        expected = ""
        compact = uscc.compact(value)
        if len(compact) == 18 and compact[:17].isalnum():
            try:
                expected = f"; the check character of {compact[:17]} is {uscc.calc_check_digit(compact[:17])}"
            except (KeyError, ValueError):
                pass
        raise PairingError("credit_code", f"统一社会信用代码无效 (not a valid unified social credit code, GB 32100: "
                                          f"{exc}{expected})") from None


def check_commitments(years: range, commitments: Mapping[int, Mapping[str, int]]) -> None:
    """Guarantee 2: one set per year of the pairing, each figure a whole number ≥ 0."""
    missing = [y for y in years if y not in commitments]
    extra = [y for y in commitments if y not in years]
    if missing or extra:
        raise PairingError("commitments", f"每个结对年度须有一组量化任务 (one set of commitments per year "
                                          f"{years.start}–{years.stop - 1}; missing {missing}, outside {extra})")


@dataclass
class Line:
    """One commitment against what happened: target, actual, gap, and who is behind the actual."""

    key: str
    target: int
    actual: int
    behind: list[dict[str, Any]] = field(default_factory=list)
    not_counted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gap(self) -> int:
        return max(self.target - self.actual, 0)

    def as_dict(self, money: Any) -> dict[str, Any]:
        label, unit = COMMITMENTS[self.key]
        shown = money if self.key.endswith("_fen") else (lambda n: n)
        return {"commitment": self.key.removesuffix("_fen"), "label": label, "unit": unit,
                "target": shown(self.target), "actual": shown(self.actual), "gap": shown(self.gap),
                "met": self.gap == 0, "behind": self.behind, "not_counted": self.not_counted}


@dataclass(frozen=True)
class Facts:
    """What the records show for a pairing's projects in one year (the edge loads these).

    ``households``: beneficiary household id → {number, head, village}; ``benefits``: (household
    id, kind, amount_fen) recorded in the year; ``roster``: the labourers reported by the
    enterprise, each {household_id, name, hired_on}; ``disbursed_fen``: paid to the projects."""

    households: Mapping[str, Mapping[str, Any]]
    benefits: list[tuple[str, str, int]]
    roster: list[Mapping[str, Any]]
    disbursed_fen: int
    disbursements: list[dict[str, Any]] = field(default_factory=list)


def actuals(commitment: Mapping[str, int], facts: Facts) -> list[Line]:
    """Guarantees 3 and 4: each commitment of the year against the facts."""
    households = facts.households
    villages: dict[str, list[str]] = {}
    for hid, h in households.items():
        villages.setdefault(h["village"], []).append(hid)
    income: dict[str, int] = {}
    wages: dict[str, int] = {}
    for hid, kind, amount in facts.benefits:
        income[hid] = income.get(hid, 0) + amount
        if kind == "wages":
            wages[hid] = wages.get(hid, 0) + amount
    counted, not_counted = [], []
    for person in facts.roster:
        hid = person["household_id"]
        entry = {"name": person["name"], "household_id": hid, "household_number": person.get("household_number"),
                 "hired_on": person["hired_on"]}
        if wages.get(hid, 0) > 0:
            counted.append({**entry, "wages_fen": wages[hid]})
        else:
            not_counted.append({**entry, "reason": "本年度该户未从结对项目领取工资 (no wages from the pairing's "
                                                   "projects to this household in the year)"})
    return [
        Line("villages", commitment["villages"], len(villages),
             [{"village": v, "households": len(ids)} for v, ids in sorted(villages.items())]),
        Line("households", commitment["households"], len(households),
             [{"household_id": hid, **h} for hid, h in sorted(households.items(), key=lambda kv: kv[1]["number"])]),
        Line("labourers", commitment["labourers"], len(counted), counted, not_counted),
        Line("income_fen", commitment["income_fen"], sum(income.values()),
             [{"household_id": hid, "number": households.get(hid, {}).get("number"), "amount_fen": amount}
              for hid, amount in sorted(income.items())]),
        Line("investment_fen", commitment["investment_fen"], facts.disbursed_fen, facts.disbursements),
    ]
