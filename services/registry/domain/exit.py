"""Household exit (脱贫退出) check and the post-exit policy switch (DOMAIN.md §3 items 4–5).

What: :func:`check_exit` says whether a household meets the exit standard for a year and, if
not, names every unmet criterion with its citation, so the village nomination, the township
verification and the auditor all give the same answer. :func:`post_exit_policies_continue`
answers whether an exited household still gets the assistance policies (脱贫不脱政策).

Why: the standard is policy data (ARCHITECTURE.md rule 7), looked up in the rule table for the
household's division and year: ``household.exit.income_standard`` (national 2,300 yuan at 2010
prices, seed 003 L197; 精河县's yearly standards, seed 003 L193), ``household.exit.
consecutive_years`` (精河县: two consecutive years, seed 003 L497) and ``household.exit.
required_checks`` (两不愁三保障 everywhere; plus 四具有 in Xinjiang, seed 003 L187/L197).
Pure: no database, HTTP or Kafka. Money is integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.money import format_fen
from shared.policy import PolicyTable

__all__ = [
    "INCOME_BELOW_STANDARD",
    "INCOME_MISSING",
    "ExitAssessment",
    "Unmet",
    "check_exit",
    "income_standard_fen",
    "post_exit_policies_continue",
]

INCOME_BELOW_STANDARD = "income_below_standard"
INCOME_MISSING = "income_missing"


@dataclass(frozen=True)
class Unmet:
    """One unmet exit criterion: a code (``income_below_standard``, ``income_missing`` or the check
    code such as ``housing_safety``), its Chinese label, a bilingual detail, the citation of the rule
    and, for income criteria, the year concerned."""

    code: str
    label_zh: str
    detail: str
    citation: str
    year: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "detail": self.detail,
            "citation": self.citation,
            "year": self.year,
        }


@dataclass(frozen=True)
class ExitAssessment:
    """The result of :func:`check_exit`.

    ``eligible`` is true iff ``unmet`` is empty. ``standards`` maps each year examined to the income
    standard applied (fen); ``consecutive_years`` is N; ``required_checks`` the check codes that
    applied. Together with the citations in ``unmet`` this is what an exit event records.
    """

    division: str
    year: int
    eligible: bool
    unmet: list[Unmet]
    consecutive_years: int
    standards: Mapping[int, int] = field(default_factory=dict)
    required_checks: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "division": self.division,
            "year": self.year,
            "eligible": self.eligible,
            "unmet": [u.as_dict() for u in self.unmet],
            "consecutive_years": self.consecutive_years,
            "standards": {str(y): format_fen(v) for y, v in sorted(self.standards.items())},
            "required_checks": list(self.required_checks),
            "citations": list(self.citations),
        }


def _year_end(year: int) -> date:
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"年份必须是整数 (year must be an int, got {type(year).__name__})")
    return date(year, 12, 31)


def income_standard_fen(policy: PolicyTable, division: str, year: int) -> tuple[int, str]:
    """The exit income standard (fen per capita per year) for ``division`` in ``year`` and its citation.

    Looked up on 31 December of the year. Raises ``shared.policy.NoRuleError`` if none applies.
    """
    rule = policy.lookup("household.exit.income_standard", division, _year_end(year))
    return int(rule.value["per_capita_income_fen"]), rule.citation


def check_exit(
    policy: PolicyTable,
    *,
    division: str,
    year: int,
    incomes: Mapping[int, int],
    checks: Mapping[str, bool],
) -> ExitAssessment:
    """Whether a household in ``division`` meets the exit standard in ``year``.

    Criteria, all from the rule table (rules looked up for ``division`` on 31 December):

    * **Income.** ``household.exit.consecutive_years`` gives N (national default 1; 精河县 2,
      seed 003 L497: 贫困户须连续两年超过扶贫标准). For each of the N years ending with ``year``,
      the household's per-capita income (``incomes[y]``, fen) must be strictly *above* that year's
      ``household.exit.income_standard`` (稳定超过; equal is not above). So in 精河县 for 2017 the
      2016 income is compared with the 2016 standard (3,146 yuan) and the 2017 income with 3,335
      yuan. A year without an income figure is an unmet criterion (``income_missing``), a year at
      or below its standard is ``income_below_standard``; each names its year.
    * **Checks.** Every check listed by ``household.exit.required_checks`` (两不愁三保障; in
      Xinjiang "65" also 四具有) must be ``True`` in ``checks``; missing or false is unmet (code =
      the check code). Checks not required there are ignored.

    Price basis: the national standard is "2,300 yuan at 2010 constant prices" (2010年不变价,
    seed 003 L197). This function compares the recorded income with the rule's figure as-is; it
    does not deflate or inflate incomes. A province or county whose yearly standard is in current
    prices (e.g. 精河县's, seed 003 L193) records it as its own rule, which then wins the lookup.
    Likewise the national rule names 可支配收入 and 精河县's 纯收入; the caller passes the measure
    the applicable rule names (``rule.value["measure"]``).

    Raises ``shared.policy.NoRuleError`` if a needed rule is missing (e.g. a year before 2011),
    ``TypeError`` if an income is not an int of fen.
    """
    year_end = _year_end(year)
    consecutive_rule = policy.lookup("household.exit.consecutive_years", division, year_end)
    n_years = int(consecutive_rule.value["years"])
    if n_years < 1:
        raise ValueError(f"household.exit.consecutive_years must be >= 1, got {n_years}")
    checks_rule = policy.lookup("household.exit.required_checks", division, year_end)
    citations: list[str] = []
    standards: dict[int, int] = {}
    unmet = _income_unmet(policy, division, year, n_years, consecutive_rule.citation, incomes, standards, citations)
    required = [(str(c["code"]), str(c.get("label", c["code"]))) for c in checks_rule.value["checks"]]
    if checks_rule.citation not in citations:
        citations.append(checks_rule.citation)
    unmet += _checks_unmet(required, checks, checks_rule.citation)

    return ExitAssessment(
        division=division,
        year=year,
        eligible=not unmet,
        unmet=unmet,
        consecutive_years=n_years,
        standards=standards,
        required_checks=tuple(code for code, _ in required),
        citations=tuple(citations),
    )


def _income_unmet(policy: PolicyTable, division: str, year: int, n_years: int, consecutive_citation: str,
                  incomes: Mapping[int, int], standards: dict[int, int], citations: list[str]) -> list[Unmet]:
    """The income criterion of :func:`check_exit` for each of the ``n_years`` ending with ``year``:
    fills ``standards`` (year → fen) and ``citations`` (in order, once each)."""
    unmet: list[Unmet] = []
    for y in range(year - n_years + 1, year + 1):
        standard_rule = policy.lookup("household.exit.income_standard", division, _year_end(y))
        standard = int(standard_rule.value["per_capita_income_fen"])
        standards[y] = standard
        citation = standard_rule.citation
        if n_years > 1:
            citation = f"{citation}; {consecutive_citation}"
        if citation not in citations:
            citations.append(citation)
        income = incomes.get(y)
        if income is None:
            unmet.append(
                Unmet(
                    INCOME_MISSING,
                    "缺少该年人均收入",
                    f"{y}年人均收入未登记，须连续{n_years}年超过标准 "
                    f"(no per-capita income recorded for {y}; {n_years} consecutive year(s) above "
                    f"the standard are required)",
                    citation,
                    y,
                )
            )
            continue
        if isinstance(income, bool) or not isinstance(income, int):
            raise TypeError(f"{y}年收入必须是整数分 (income for {y} must be an int of fen, got {income!r})")
        if income <= standard:
            unmet.append(
                Unmet(
                    INCOME_BELOW_STANDARD,
                    "人均收入未超过当年标准",
                    f"{y}年人均收入 {format_fen(income)} 元未超过当年标准 {format_fen(standard)} 元 "
                    f"(per-capita income {format_fen(income)} yuan in {y} is not above that year's "
                    f"standard of {format_fen(standard)} yuan)",
                    citation,
                    y,
                )
            )
    return unmet


def _checks_unmet(required: list[tuple[str, str]], checks: Mapping[str, bool], citation: str) -> list[Unmet]:
    """The checks criterion of :func:`check_exit`: each required check recorded as ``True``."""
    unmet = []
    for code, label in required:
        value = checks.get(code)
        if value is True:
            continue
        if value is None:
            detail = f"未登记“{label}”核查结果 (check {code!r} not recorded)"
        else:
            detail = f"未达到“{label}” (check {code!r} not met)"
        unmet.append(Unmet(code, label, detail, citation))
    return unmet


def post_exit_policies_continue(
    policy: PolicyTable, division: str, exit_date: date, on: date
) -> tuple[bool, str]:
    """Whether a household that exited on ``exit_date`` still receives assistance policies on ``on``.

    From ``household.post_exit.policy_continuation`` in force on ``on`` for ``division``: the
    national rule keeps policies during the 攻坚期 with a buffer (脱贫不脱政策, seed 003 L481,
    L497; seed 002 L788); Shanxi 2014 said the opposite (seed 004 L19) — a policy switch, which is
    why this is a rule and not code. The value's ``continues`` decides; a deployment may bound the
    period with ``years`` (counted from the exit date) and/or ``until`` (a date, inclusive).
    Returns ``(continues, citation)``. Raises ``ValueError`` if ``on`` is before ``exit_date``.
    """
    if on < exit_date:
        raise ValueError(
            f"查询日期 {on.isoformat()} 早于脱贫日期 {exit_date.isoformat()} "
            f"(date {on.isoformat()} is before the exit date {exit_date.isoformat()})"
        )
    rule = policy.lookup("household.post_exit.policy_continuation", division, on)
    value = rule.value
    continues = bool(value.get("continues", False))
    if continues and value.get("years") is not None:
        years = int(value["years"])
        try:
            end = exit_date.replace(year=exit_date.year + years)
        except ValueError:  # 29 February
            end = date(exit_date.year + years, 3, 1)
        continues = on < end
    if continues and value.get("until") is not None:
        until = value["until"]
        until = until if isinstance(until, date) else date.fromisoformat(str(until))
        continues = on <= until
    return continues, rule.citation
