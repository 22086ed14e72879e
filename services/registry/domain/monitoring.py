"""防止返贫动态监测 (monitoring against return to poverty, DOMAIN.md §3 item 6).

What: :func:`monitoring_line` gives the year's monitoring income line (fen per capita) from the
rule table; :func:`classify` puts a household into one of the three monitored categories —
脱贫不稳定户, 边缘易致贫户, 突发严重困难户 — or none.

Why: the line is "about 1.5× the poverty line; 6,000 yuan in 2021, set yearly by each province"
(DOMAIN.md §3), so it is policy data (rule ``monitoring.income_line``), never a constant here.
A year or province without a rule is an explicit error, not a silent default. Returned households
re-enter 低保 / 医疗救助 / 临时救助 and 建档立卡 coverage (seed 002 L569; rule
``monitoring.return_coverage``). Pure: no I/O. Money is integer fen.
"""

from __future__ import annotations

from datetime import date

from shared.policy import NoRuleError, PolicyTable

from .codes import MonitoringCategory

__all__ = ["NoMonitoringLineError", "classify", "monitoring_line"]


class NoMonitoringLineError(NoRuleError):
    """No ``monitoring.income_line`` rule for the division and year (a :class:`NoRuleError`)."""


def monitoring_line(policy: PolicyTable, division: str, year: int) -> int:
    """The monitoring income line in fen (per capita, per year) for ``division`` in ``year``.

    Looked up on 31 December of ``year``. Raises :class:`NoMonitoringLineError` (a
    ``shared.policy.NoRuleError``) when the table has none: the line is set yearly by each
    province, so a deployment must add that province's rule for that year.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"年份必须是整数 (year must be an int, got {type(year).__name__})")
    on = date(year, 12, 31)
    try:
        rule = policy.lookup("monitoring.income_line", division, on)
    except NoRuleError as exc:
        raise NoMonitoringLineError(
            "monitoring.income_line",
            division,
            on,
            f"{year}年无防止返贫监测收入线：监测线由各省每年确定，请在部署规则中添加该省该年的规则 "
            f"(no monitoring line for {year}: the line is set yearly by each province; add the "
            f"province's rule for that year to the deployment's policy files)",
        ) from exc
    return int(rule.value["per_capita_income_fen"])


def _fen(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} 必须是整数分 ({name} must be an int of fen, got {value!r})")
    return value


def classify(
    *,
    exited: bool,
    per_capita_income_fen: int,
    line_fen: int,
    sudden_hardship: bool,
    registered_poor: bool = False,
) -> MonitoringCategory | None:
    """The monitoring category of a household, or ``None`` if it is not to be monitored.

    In this order:

    1. a household on the poverty roll now (``registered_poor``: registered, not exited) is
       already covered by 建档立卡 and is not a monitoring object → ``None``;
    2. ``sudden_hardship`` (突发严重困难, e.g. illness, accident, disaster) → ``sudden_hardship``,
       whatever the income;
    3. ``exited`` and income *below* the line → ``unstable_exited`` (脱贫不稳定户);
    4. not exited (never registered) and income below the line → ``marginal`` (边缘易致贫户);
    5. otherwise ``None``.

    "Below" is strict: an income exactly at the line is not below it.
    """
    income = _fen("per_capita_income_fen", per_capita_income_fen)
    line = _fen("line_fen", line_fen)
    if registered_poor and not exited:
        return None
    if sudden_hardship:
        return MonitoringCategory.SUDDEN_HARDSHIP
    if income < line:
        return MonitoringCategory.UNSTABLE_EXITED if exited else MonitoringCategory.MARGINAL
    return None
