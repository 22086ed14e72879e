"""Announcements (公告公示), pure: the period rule, the state machine, objections, masking.

    draft ──publish──► published ──close (after the period)──► closed: passed | failed
                           └──withdraw (with a reason)──► withdrawn

An announcement closes **passed** when no objection is open or upheld at the end of its period,
otherwise **failed** (DOMAIN §6: an objection stops the next workflow step until it is
resolved). The period is inclusive of both dates, in China time; its minimum length comes from
the policy rule ``announcement.min_period`` of the announcement's division (10 calendar days
nationally, 国开办发〔2017〕50号; jurisdictions may override, e.g. in working days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from shared import divisions
from shared.clock import CHINA_TZ
from shared.errors import Conflict, Unprocessable
from shared.idcard import mask, mask_phone
from shared.masking import mask_personal_numbers
from shared.policy import PolicyTable
from shared.policy.calendar import add_days, holidays_for
from shared.vocabulary import Vocabulary

SUPERVISION_HOTLINE = "12317"  # 扶贫监督举报电话 (DOMAIN §6)
PERIOD_RULE = "announcement.min_period"


class Status(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"
    withdrawn = "withdrawn"


class Outcome(StrEnum):
    passed = "passed"
    failed = "failed"


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"


LEVELS = ("village", "township", "county", "city", "province")
LEVEL_LABELS = {"village": "村", "township": "乡镇", "county": "县", "city": "市", "province": "省"}

#: The announcements' code lists with their labels (the catalogue, shared/web/catalogue.py), each
#: with the JSON fields that carry its codes.
ANNOUNCEMENT_VOCABULARIES: tuple[tuple[Vocabulary, tuple[str, ...]], ...] = (
    (Vocabulary.of("announcement_status", "公告状态", "announcement status", [
        (Status.draft.value, "草稿", "draft"), (Status.published.value, "公示中", "published"),
        (Status.closed.value, "公示期满", "closed"), (Status.withdrawn.value, "已撤回", "withdrawn")]), ("status",)),
    (Vocabulary.of("announcement_outcome", "公示结果", "announcement outcome", [
        (Outcome.passed.value, "公示无异议或异议不成立", "passed"), (Outcome.failed.value, "异议成立", "failed")]), ("outcome",)),
    (Vocabulary.of("objection_status", "异议处理状态", "objection status", [
        (ObjectionStatus.open.value, "待处理", "open"), (ObjectionStatus.upheld.value, "异议成立", "upheld"),
        (ObjectionStatus.dismissed.value, "异议不成立", "dismissed")]), ("status", "decision")),
    (Vocabulary.of("announcement_level", "公示层级", "announcement level", [
        (code, LEVEL_LABELS[code], code) for code in LEVELS]), ("level",)),
    (Vocabulary.of("period_unit", "公示期计算方式", "announcement period unit", [
        ("calendar", "日历日", "calendar days"), ("working", "工作日", "working days")]), ("period.unit",)),
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    days: int  # the rule's minimum length
    unit: str  # calendar | working
    rule: str
    citation: str

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "unit": self.unit, "rule": self.rule, "citation": self.citation}


def check_level(level: str, division: str) -> None:
    """The announcement's level is its division's level (a village notice has a village code)."""
    if level not in LEVELS:
        raise Unprocessable(f"公告层级无效 (level must be one of {', '.join(LEVELS)})",
                            errors=[{"field": "level", "reason": f"one of {', '.join(LEVELS)}"}])
    actual = divisions.level(division).value
    if actual != level:
        raise Unprocessable(
            f"公告层级与区划不符 (a {level} announcement needs a {level} division; {division} is {actual})",
            errors=[{"field": "division", "reason": f"{division} is a {actual} code, not {level}"}],
        )


def minimum_period(policy: PolicyTable, division: str, start: date) -> tuple[date, Any]:
    """The earliest allowed end date of a period starting on ``start``, and the rule applied."""
    rule = policy.lookup(PERIOD_RULE, division, start)
    days, unit = int(rule.value["days"]), rule.value.get("unit", "calendar")
    holidays, workdays = holidays_for(policy, start, start + timedelta(days=366), division)
    return add_days(start, days, unit, holidays, workdays), rule


def check_period(policy: PolicyTable, division: str, start: date, end: date, today: date) -> Period:
    """Validate a publication period against the minimum-period rule in force for the division."""
    if start < today:
        raise Unprocessable("公示期不能从过去开始 (the period cannot start in the past)",
                            errors=[{"field": "period_start", "reason": f"before today ({today.isoformat()})"}])
    earliest_end, rule = minimum_period(policy, division, start)
    days, unit = int(rule.value["days"]), rule.value.get("unit", "calendar")
    unit_zh = "个工作日" if unit == "working" else "天"
    if end < earliest_end:
        raise Unprocessable(
            f"公示期不少于{days}{unit_zh}，最早截止于{earliest_end.isoformat()} "
            f"(the period must last at least {days} {unit} days: end on {earliest_end.isoformat()} or later; "
            f"{rule.citation})",
            errors=[{"field": "period_end", "reason": f"at least {days} {unit} days, until {earliest_end.isoformat()} or later"}],
            rule=rule.id, citation=rule.citation, jurisdiction=rule.jurisdiction, earliest_end=earliest_end.isoformat(),
        )
    return Period(start, end, days, unit, rule.id, rule.citation)


def require_status(announcement_id: str, status: str, *allowed: Status) -> None:
    if status not in allowed:
        raise Conflict(
            f"公告状态为{status}，不能执行此操作 (announcement {announcement_id} is {status}; "
            f"needs {' or '.join(a.value for a in allowed)})",
            announcement={"id": announcement_id, "status": status},
        )


def is_open_for_objections(status: str, period_start: date | None, period_end: date | None, today: date) -> bool:
    """Objections are taken during the period, both days included (China time); a draft has none."""
    return (status == Status.published and period_start is not None and period_end is not None
            and period_start <= today <= period_end)


def is_due(status: str, period_end: date, today: date) -> bool:
    """The period is over: the scheduler closes the announcement."""
    return status == Status.published and today > period_end


def period_cutoff(period_end: date) -> datetime:
    """The end of the period: midnight after its last day, China time."""
    return datetime.combine(period_end + timedelta(days=1), time(0), tzinfo=CHINA_TZ)


def outcome_of(objections: list[tuple[str, datetime | None]], cutoff: datetime) -> Outcome:
    """Passed when, at the end of the period, no objection was open or upheld.

    ``objections`` are (status, resolved_at). An objection resolved after the cutoff was still
    open when the period ended, so the outcome does not depend on when the scheduler runs.
    """
    for status, resolved_at in objections:
        if status == ObjectionStatus.upheld or resolved_at is None or resolved_at >= cutoff:
            return Outcome.failed
    return Outcome.passed


def mask_person(person: dict[str, Any]) -> dict[str, Any]:
    """A listed person as published: names stay, ID and phone numbers are masked."""
    shown = {}
    for key, value in person.items():
        if key == "id_number" and value:
            shown[key] = mask(str(value))
        elif key == "phone" and value:
            shown[key] = mask_phone(str(value))
        else:
            shown[key] = mask_public(value)
    return shown


def mask_public(value: Any) -> Any:
    """Any published value, with every ID-number-like run inside text masked."""
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, list):
        return [mask_public(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_public(v) for k, v in value.items()}
    return value


def render_text(*, title: str, level: str, division: str, content: dict[str, Any], people: list[dict[str, Any]],
                period: Period, hotlines: dict[str, str]) -> str:
    """The plain text of the notice as it is published (masked)."""
    lines = [title, ""]
    body = content.get("body")
    if body:
        lines += [body, ""]
    table = content.get("table")
    if table:
        lines.append("　".join(str(c) for c in table["columns"]))
        lines += ["　".join(str(c) for c in row) for row in table["rows"]]
        lines.append("")
    if people:
        lines.append("名单：")
        for person in (mask_person(p) for p in people):
            parts = [person.get("name", "")]
            if person.get("id_number"):
                parts.append(person["id_number"])
            if person.get("note"):
                parts.append(str(person["note"]))
            lines.append("　".join(parts))
        lines.append("")
    unit = "个工作日" if period.unit == "working" else "天"
    lines.append(f"公示期：{period.start.isoformat()}至{period.end.isoformat()}（不少于{period.days}{unit}）")
    lines.append(f"如有异议，请在公示期内向{LEVEL_LABELS[level]}级反映。")
    lines.append(f"扶贫监督举报电话：{hotlines['supervision']}；本地电话：{hotlines['local']}")
    lines.append(f"区划代码：{division}")
    return mask_personal_numbers("\n".join(lines))
