"""Registry statistics (DOMAIN.md §8) as one pure aggregation, shared by the registry's statistics
endpoint and the auditor's rebuild-and-diff (ARCHITECTURE.md rule 6).

What: :func:`compute_statistics` takes plain :class:`HouseholdFacts` (one per household, as the
registry's rows or the auditor's replay of events describe it at a year's end) and the rural
population of villages, and returns :class:`Statistics` for a division prefix and a year:
registered households/persons, with and without labour capacity, exits per year, remaining poor,
贫困发生率 (exact, as a :class:`fractions.Fraction` and a 2-decimal percent string), returned
households, monitored households by category, households lacking a 帮扶责任人 or a measure, and a
per-township breakdown. :func:`village_exit_evaluation` / :func:`county_exit_evaluation` compare the
headcount ratio with the 出列 / 摘帽 threshold of the rule table (2%, 3% in the west).

Why one function: the dashboard and the auditor must compute every figure the same way, so that a
figure rebuilt from events alone matches the one the registry reported. Never a float: counts are
ints, ratios Fractions. The 精河县 table of DOMAIN.md §9 (seed 003 L191–L193) is reproduced by
``jinghe_shape.jinghe_households`` + this function (tests/unit/registry).

Definitions (``year`` = the state at 31 December of that year):

* *registered*: ``registered_year`` is set and ≤ year, and not ``removed`` (清退/销户 households
  count nowhere; the facts carry no removal year, so a removal is applied to every year);
* *without labour capacity*: every member is without labour (``persons_without_labour ==
  persons``) — the 兜底 group of seed 003 L193 (716 households / 1,312 persons in 精河县);
* *exits*: registered households by exit year, for exit years ≤ year (a household that later
  returned still counts in the year it exited);
* *returned* (返贫): exited and ``returned_year`` ≤ year;
* *remaining poor*: registered and (not exited by the year's end, or returned by then);
* *贫困发生率*: remaining poor persons / rural population of the villages under the prefix;
* *monitored*: not removed, a ``monitoring_category``, and registered by the year or never
  registered (边缘易致贫户 are not 建档立卡);
* *lacking a helper / a measure*: remaining poor households with ``has_helper`` false / with fewer
  than ``min_measures`` measures (rules ``household.helper.required`` seed 004 L63,
  ``household.assistance.min_measures`` seed 003 L487 — must be zero);
* *township*: the first 9 digits of the village code + ``"000"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any, NamedTuple

from shared.divisions import Level, level, normalize
from shared.errors import DomainError
from shared.divisions import prefix as division_prefix
from shared.policy import PolicyTable

from .codes import Cause, MonitoringCategory, parse

__all__ = [
    "NoPopulationData",
    "AreaExitEvaluation",
    "HeadCount",
    "HouseholdFacts",
    "Statistics",
    "compute_statistics",
    "county_exit_evaluation",
    "percent_string",
    "township_of",
    "village_exit_evaluation",
]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class HouseholdFacts:
    """What the statistics need to know about one household (no names, no ID numbers).

    ``division`` is the 12-digit village code; ``persons`` the household size;
    ``persons_without_labour`` how many members have no labour capacity; ``registered_year`` the
    year it was registered (建档立卡), ``None`` for a household that never was (e.g. a monitored
    边缘易致贫户); ``exit_year`` / ``returned_year`` the years of exit and of return to poverty;
    ``removed`` taken off the roll in a review; ``monitoring_category`` a
    :class:`~.codes.MonitoringCategory` code; ``measures`` the number of assistance measures;
    ``main_cause`` a :class:`~.codes.Cause` code (labels are accepted and stored as codes);
    ``status`` the registry's status word, carried for display.
    """

    household_number: str
    division: str
    persons: int
    persons_without_labour: int
    registered_year: int | None
    exit_year: int | None = None
    removed: bool = False
    returned_year: int | None = None
    monitoring_category: str | None = None
    has_helper: bool = True
    measures: int = 1
    main_cause: str = "other"
    status: str = "registered"

    def __post_init__(self) -> None:
        def bad(problem: str) -> ValueError:
            return ValueError(f"户 {self.household_number!r}: {problem}")

        if not isinstance(self.household_number, str) or not self.household_number:
            raise ValueError(f"户编号不能为空 (household_number must be a non-empty string, got {self.household_number!r})")
        if not (isinstance(self.division,
                           str) and len(self.division) == 12 and self.division.isascii() and self.division.isdigit()):
            raise bad(f"区划代码应为12位村级代码 (division must be a 12-digit village code, got {self.division!r})")
        if not _is_int(self.persons) or self.persons < 1:
            raise bad(f"人口数应为正整数 (persons must be an int >= 1, got {self.persons!r})")
        if not _is_int(self.persons_without_labour) or not 0 <= self.persons_without_labour <= self.persons:
            raise bad(
                f"无劳动能力人数应在0到{self.persons}之间 (persons_without_labour must be in "
                f"0..{self.persons}, got {self.persons_without_labour!r})"
            )
        for name in ("registered_year", "exit_year", "returned_year"):
            value = getattr(self, name)
            if value is not None and not _is_int(value):
                raise bad(f"{name} must be an int year or None, got {value!r}")
        if self.exit_year is not None and self.registered_year is not None and self.exit_year < self.registered_year:
            raise bad(f"脱贫年份早于建档年份 (exit_year {self.exit_year} < registered_year {self.registered_year})")
        if self.returned_year is not None and (self.exit_year is None or self.returned_year < self.exit_year):
            raise bad(
                f"返贫须在脱贫之后 (returned_year {self.returned_year} needs an exit_year no later than it, "
                f"got exit_year {self.exit_year})"
            )
        if not _is_int(self.measures) or self.measures < 0:
            raise bad(f"measures must be an int >= 0, got {self.measures!r}")
        if self.monitoring_category is not None:
            object.__setattr__(self, "monitoring_category", parse(MonitoringCategory, self.monitoring_category).value)
        object.__setattr__(self, "main_cause", parse(Cause, self.main_cause).value)

    @property
    def without_labour(self) -> bool:
        """No member has labour capacity (无劳动能力户)."""
        return self.persons_without_labour == self.persons

    @property
    def township(self) -> str:
        return township_of(self.division)

    def registered_by(self, year: int) -> bool:
        """Registered (建档立卡) by the end of ``year`` and not removed."""
        return not self.removed and self.registered_year is not None and self.registered_year <= year

    def exited_by(self, year: int) -> bool:
        return self.exit_year is not None and self.exit_year <= year

    def returned_by(self, year: int) -> bool:
        return self.returned_year is not None and self.returned_year <= year

    def poor_at_end_of(self, year: int) -> bool:
        """Registered and still poor at the end of ``year``: not exited, or returned after exit."""
        return self.registered_by(year) and (not self.exited_by(year) or self.returned_by(year))


def township_of(village: str) -> str:
    """The township (乡镇) of a 12-digit village code: its first 9 digits + ``"000"``."""
    return village[:9] + "000"


@dataclass(frozen=True)
class HeadCount:
    """Households and persons (户 / 人)."""

    households: int = 0
    persons: int = 0

    def __add__(self, other: HeadCount) -> HeadCount:
        return HeadCount(self.households + other.households, self.persons + other.persons)

    def as_dict(self) -> dict[str, int]:
        return {"households": self.households, "persons": self.persons}


def _count(households: Iterable[HouseholdFacts]) -> HeadCount:
    n = p = 0
    for h in households:
        n += 1
        p += h.persons
    return HeadCount(n, p)


def percent_string(ratio: Fraction) -> str:
    """``ratio`` as a percent with exactly 2 decimals, rounded half up, computed exactly:
    ``Fraction(80, 4340)`` → ``"1.84"``; ``Fraction(1, 8)`` → ``"12.50"``."""
    if ratio < 0:
        raise ValueError("ratio must not be negative")
    scaled = ratio * 10000  # hundredths of a percent
    hundredths = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


@dataclass(frozen=True)
class Statistics:
    """The figures for one division prefix at the end of one year (module docstring: definitions).

    ``division`` is the prefix the figures cover (``"652722"`` for 精河县, ``""`` national);
    ``poverty_rate`` is ``None`` when the rural population under the prefix is unknown (zero);
    ``by_township`` is filled only for prefixes above the township level.
    """

    division: str
    year: int
    registered: HeadCount
    without_labour: HeadCount
    with_labour: HeadCount
    exits: Mapping[int, HeadCount]
    remaining: HeadCount
    returned: HeadCount
    rural_population: int
    poverty_rate: Fraction | None
    monitored: Mapping[str, int]
    lacking_helper: list[str]
    lacking_measure: list[str]
    by_township: Mapping[str, Statistics] = field(default_factory=dict)

    @property
    def poverty_rate_percent(self) -> str | None:
        """贫困发生率 as a percent string with 2 decimals (``"1.85"``), or ``None``."""
        return None if self.poverty_rate is None else percent_string(self.poverty_rate)

    @property
    def exits_total(self) -> HeadCount:
        total = HeadCount()
        for count in self.exits.values():
            total = total + count
        return total

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ratio as ``"num/den"`` and as a percent string."""
        return {
            "division": self.division,
            "year": self.year,
            "registered": self.registered.as_dict(),
            "without_labour": self.without_labour.as_dict(),
            "with_labour": self.with_labour.as_dict(),
            "exits": {str(y): c.as_dict() for y, c in sorted(self.exits.items())},
            "remaining": self.remaining.as_dict(),
            "returned": self.returned.as_dict(),
            "rural_population": self.rural_population,
            "poverty_rate": None
            if self.poverty_rate is None
            else f"{self.poverty_rate.numerator}/{self.poverty_rate.denominator}",
            "poverty_rate_percent": self.poverty_rate_percent,
            "monitored": dict(self.monitored),
            "lacking_helper": list(self.lacking_helper),
            "lacking_measure": list(self.lacking_measure),
            "by_township": {code: s.as_dict() for code, s in self.by_township.items()},
        }


def _prefix_of(division: str) -> str:
    if division == "":
        return ""
    return division_prefix(normalize(division))


def compute_statistics(
    households: Iterable[HouseholdFacts],
    rural_population: Mapping[str, int],
    *,
    division: str,
    year: int,
    min_measures: int = 1,
) -> Statistics:
    """The statistics of the households under ``division`` at the end of ``year``.

    ``division``: a division code (12 digits or a 2/4/6/9-digit prefix; ``""`` for national).
    ``rural_population``: village code → rural population (农村人口), the denominator of
    贫困发生率; villages outside the prefix are ignored. ``min_measures``: the threshold of rule
    ``household.assistance.min_measures`` (1 nationally). See the module docstring for definitions.
    """
    if not _is_int(year):
        raise TypeError(f"年份必须是整数 (year must be an int, got {year!r})")
    scope = _prefix_of(division)
    selected = [h for h in households if h.division.startswith(scope)]
    population = {v: n for v, n in rural_population.items() if v.startswith(scope)}
    for village, n in population.items():
        if not _is_int(n) or n < 0:
            raise ValueError(f"农村人口应为非负整数 (rural population of {village} must be an int >= 0, got {n!r})")
    stats = _aggregate(selected, population, scope, year, min_measures)
    if len(scope) < 9:
        townships = sorted({h.township for h in selected} | {township_of(v) for v in population})
        by_town_h: dict[str, list[HouseholdFacts]] = {t: [] for t in townships}
        for h in selected:
            by_town_h[h.township].append(h)
        by_town_p: dict[str, dict[str, int]] = {t: {} for t in townships}
        for v, n in population.items():
            by_town_p[township_of(v)][v] = n
        breakdown = {
            t: _aggregate(by_town_h[t], by_town_p[t], t[:9], year, min_measures) for t in townships
        }
        object.__setattr__(stats, "by_township", breakdown)
    return stats


def _aggregate(
    selected: list[HouseholdFacts],
    population: Mapping[str, int],
    scope: str,
    year: int,
    min_measures: int,
) -> Statistics:
    registered = [h for h in selected if h.registered_by(year)]
    remaining = [h for h in registered if h.poor_at_end_of(year)]
    exits: dict[int, HeadCount] = {}
    for h in registered:
        if h.exit_year is not None and h.exited_by(year):
            exits[h.exit_year] = exits.get(h.exit_year, HeadCount()) + HeadCount(1, h.persons)
    monitored = {c.value: 0 for c in MonitoringCategory}
    for h in selected:
        if h.monitoring_category is not None and not h.removed and (
            h.registered_year is None or h.registered_year <= year
        ):
            monitored[h.monitoring_category] += 1
    rural = sum(population.values())
    remaining_count = _count(remaining)
    return Statistics(
        division=scope,
        year=year,
        registered=_count(registered),
        without_labour=_count(h for h in registered if h.without_labour),
        with_labour=_count(h for h in registered if not h.without_labour),
        exits=dict(sorted(exits.items())),
        remaining=remaining_count,
        returned=_count(h for h in registered if h.exited_by(year) and h.returned_by(year)),
        rural_population=rural,
        poverty_rate=Fraction(remaining_count.persons, rural) if rural else None,
        monitored=monitored,
        lacking_helper=sorted(h.household_number for h in remaining if not h.has_helper),
        lacking_measure=sorted(h.household_number for h in remaining if h.measures < min_measures),
    )


class NoPopulationData(DomainError):
    """A division without rural population data has no headcount ratio to evaluate."""

    slug = "no-population-data"


class AreaExitEvaluation(NamedTuple):
    """Result of a village (出列) or county (摘帽) headcount-ratio check.

    ``eligible`` iff ``rate`` < ``threshold`` (低于, strictly below); both exact Fractions.
    """

    eligible: bool
    rate: Fraction
    threshold: Fraction
    citation: str

    @property
    def rate_percent(self) -> str:
        return percent_string(self.rate)

    @property
    def threshold_percent(self) -> str:
        return percent_string(self.threshold)


def _area_exit(
    policy: PolicyTable, rule_id: str, code: str, expected: Level, year: int, stats: Statistics
) -> AreaExitEvaluation:
    full = normalize(code)
    if level(full) is not expected:
        raise ValueError(
            f"{full} 不是{expected.label_zh}级区划 ({full} is not a {expected.value} code)"
        )
    if stats.division != division_prefix(full):
        raise ValueError(
            f"统计口径 {stats.division!r} 与 {full} 不符 (statistics are for {stats.division!r}, not {full})"
        )
    if stats.year != year:
        raise ValueError(f"statistics are for {stats.year}, not {year}")
    if stats.poverty_rate is None:
        raise NoPopulationData(
            f"{full} 无农村人口数据，无法计算贫困发生率 (no rural population for {full}: the "
            f"headcount ratio is unknown; load it with PUT /divisions)",
            errors=[{"field": "division", "reason": "no rural population on record"}],
        )
    rule = policy.lookup(rule_id, full, date(year, 12, 31))
    threshold = Fraction(str(rule.value["max_percent"])) / 100
    return AreaExitEvaluation(stats.poverty_rate < threshold, stats.poverty_rate, threshold, rule.citation)


def village_exit_evaluation(
    policy: PolicyTable, village: str, year: int, stats: Statistics
) -> AreaExitEvaluation:
    """Whether ``village``'s 贫困发生率 at the end of ``year`` is below the 出列 threshold.

    ``stats`` must be :func:`compute_statistics` for that village and year. Threshold from rule
    ``village.exit.poverty_rate_max`` (2%, 3% in the western provinces; DOMAIN.md §3). The other
    出列 criteria (infrastructure and services, seed 002 L49; collective income, rule
    ``village.exit.collective_income_min``, DOMAIN.md §3) are checked elsewhere.
    Returns ``(eligible, rate, threshold, citation)``.
    """
    return _area_exit(policy, "village.exit.poverty_rate_max", village, Level.VILLAGE, year, stats)


def county_exit_evaluation(
    policy: PolicyTable, county: str, year: int, stats: Statistics
) -> AreaExitEvaluation:
    """Whether ``county``'s 贫困发生率 at the end of ``year`` is below the 摘帽 threshold.

    Same as :func:`village_exit_evaluation` with rule ``county.exit.poverty_rate_max``.
    """
    return _area_exit(policy, "county.exit.poverty_rate_max", county, Level.COUNTY, year, stats)
