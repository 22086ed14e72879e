"""Grievances (扶贫监督举报, 12317): the handling procedure as data, its deadlines, receipt numbers.

A grievance comes in by one of the :data:`CHANNELS` (the 12317 hotline, another phone, a letter, a
visit, or an objection to a notice escalated from the board) and is then taken step by step::

    received ─classify→ classified ─assign→ assigned ─investigate→ investigating
             ─answer→ answered ─close→ closed

Each :class:`Step` is taken from one status by the offices named in it (``level``: who decides)
and moves the grievance on; every step is an event. Deadlines come from the policy rule
``grievance.handling`` (see ``shared/policy/rules.yaml``): a grievance must be accepted
(classified) within ``accept_days`` and answered within ``answer_days`` of its receipt. A
grievance is **overdue** when the day has passed and the step has not been taken — the registry's
overdue report and the audit's compliance check both call :func:`overdue`.

Receipt numbers are what a caller is given to look the status up without any personal data: ten
characters of Crockford base32 drawn at random, the last a check character (``shared.receipt_numbers``).

Pure: no database, HTTP or Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared import receipt_numbers
from shared.vocabulary import Vocabulary

#: The procedure's code lists (GET /catalogue), and their codes → Chinese labels as the procedure uses them.
CHANNEL = Vocabulary.of("grievance_channel", "举报渠道", "grievance channel", [
    ("12317", "12317扶贫监督举报电话", "the 12317 supervision hotline"), ("phone", "其他电话", "another telephone"),
    ("letter", "来信", "letter"), ("visit", "来访", "visit"),
    ("board_objection", "公示异议转办", "an objection escalated from a notice board")])
CATEGORY = Vocabulary.of("grievance_category", "举报类别", "grievance category", [
    ("identification", "识别不准", "inaccurate identification"), ("exit", "退出不实", "untrue exit"),
    ("assistance", "帮扶措施", "assistance measures"), ("funds", "资金使用", "use of funds"),
    ("project", "项目实施", "project implementation"), ("conduct", "工作作风", "officials' conduct"),
    ("consultation", "政策咨询", "policy question"), ("other", "其他", "other")])
LINK_KIND = Vocabulary.of("grievance_link", "举报涉及对象", "what a grievance concerns", [
    ("household", "贫困户", "household"), ("payment", "资金拨付", "payment"), ("project", "扶贫项目", "project"),
    ("announcement", "公告公示", "announcement")])
OUTCOME = Vocabulary.of("grievance_outcome", "核查结论", "grievance outcome", [
    ("substantiated", "属实", "substantiated"), ("partly_substantiated", "部分属实", "partly substantiated"),
    ("unsubstantiated", "不属实", "unsubstantiated"), ("answered", "已答复(咨询)", "answered (a question)")])
STATUS = Vocabulary.of("grievance_status", "举报办理状态", "grievance status", [
    ("received", "已登记", "received"), ("classified", "已受理", "accepted"), ("assigned", "已交办", "assigned"),
    ("investigating", "调查核实中", "being investigated"), ("answered", "已答复", "answered"),
    ("closed", "已办结", "closed")])
LATE = Vocabulary.of("grievance_late", "逾期事项", "what is late", [
    ("accept", "逾期未受理", "not accepted by its day"), ("answer", "逾期未答复", "not answered by its day")])

CHANNELS = {c.code: c.zh for c in CHANNEL}
CATEGORIES = {c.code: c.zh for c in CATEGORY}
LINK_KINDS = LINK_KIND.codes
OUTCOMES = {c.code: c.zh for c in OUTCOME}
STATUS_LABELS = {c.code: c.zh for c in STATUS}
#: Statuses in which the grievance still awaits its answer.
UNANSWERED = frozenset({"received", "classified", "assigned", "investigating"})


@dataclass(frozen=True)
class Step:
    action: str
    from_status: str
    to_status: str
    level: str  # county: the county office (or above) decides; local: the office it is assigned to
    label: str


STEPS = {s.action: s for s in (
    Step("classify", "received", "classified", "county", "受理分类"),
    Step("assign", "classified", "assigned", "county", "交办"),
    Step("investigate", "assigned", "investigating", "local", "调查核实"),
    Step("answer", "investigating", "answered", "local", "答复"),
    Step("close", "answered", "closed", "county", "办结"),
)}


class GrievanceError(ValueError):
    """A step the grievance's status does not allow."""


def take(action: str, status: str) -> Step:
    step = STEPS.get(action)
    if step is None:
        raise GrievanceError(f"未知操作 (unknown action {action!r}; one of {', '.join(STEPS)})")
    if status != step.from_status:
        raise GrievanceError(
            f"{step.label}需要状态为“{STATUS_LABELS[step.from_status]}”，当前为“{STATUS_LABELS[status]}” "
            f"({action} needs status {step.from_status}; the grievance is {status})")
    return step


# -- deadlines ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    accept_by: date
    answer_by: date


def overdue(status: str, due: Due, today: date) -> list[str]:
    """What is late on ``today``: ``accept`` (not classified by its day), ``answer`` (not answered)."""
    late = []
    if status == "received" and today > due.accept_by:
        late.append("accept")
    if status in UNANSWERED and today > due.answer_by:
        late.append("answer")
    return late


# -- receipt numbers ------------------------------------------------------------------------------

new_receipt = receipt_numbers.new
normalise_receipt = receipt_numbers.normalise
