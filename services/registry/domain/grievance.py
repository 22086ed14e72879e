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

CHANNELS = {"12317": "12317扶贫监督举报电话", "phone": "其他电话", "letter": "来信", "visit": "来访",
            "board_objection": "公示异议转办"}
CATEGORIES = {"identification": "识别不准", "exit": "退出不实", "assistance": "帮扶措施", "funds": "资金使用",
              "project": "项目实施", "conduct": "工作作风", "consultation": "政策咨询", "other": "其他"}
LINK_KINDS = ("household", "payment", "project", "announcement")
OUTCOMES = {"substantiated": "属实", "partly_substantiated": "部分属实", "unsubstantiated": "不属实",
            "answered": "已答复(咨询)"}

STATUS_LABELS = {"received": "已登记", "classified": "已受理", "assigned": "已交办", "investigating": "调查核实中",
                 "answered": "已答复", "closed": "已办结"}
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
