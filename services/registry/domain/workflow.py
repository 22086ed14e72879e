"""The household procedures as data: identification (精准识别, 两公示一公告) and exit (脱贫退出).

Each **decision** is taken by one level's office on one household in a given status and moves it
on (or, when refused, out); each **notice** is an announcement listing a batch of households at
one level, and the next decision needs it to have *passed* (no objection open or upheld at the
end of its period, DOMAIN §6).

Identification (DOMAIN §3.1; seed 003 L497, seed 002 L788):
    proposed ─appraise(village)→ appraised ─notice identification.village→ village_notice
    ─township-review→ township_reviewed ─notice identification.township→ township_notice
    ─county-approve (quota)→ county_approved ─notice identification.county→ county_notice
    ─register→ registered
Exit (DOMAIN §3.4; seed 003 L497: 村评议、公示无异议 → 乡镇核实、公示 → 县复核 → 县审批 → 村内公告):
    registered ─exit-nominate (exit standard)→ exit_nominated ─exit-appraise→ exit_appraised
    ─notice exit.village→ exit_village_notice ─exit-township-verify→ exit_township_verified
    ─notice exit.township→ exit_township_notice ─exit-county-review→ exit_county_reviewed
    ─exit-county-approve→ exit_county_approved ─notice exit.announcement→ exit_announced
    ─exit-confirm (销号)→ exited
"""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.domain.codes import STATUS

#: Statuses in which a household is on the roll of poor households (counted as poor).
ON_ROLL = frozenset({
    "registered", "exit_nominated", "exit_appraised", "exit_village_notice", "exit_township_verified",
    "exit_township_notice", "exit_county_reviewed", "exit_county_approved", "exit_announced",
})
#: Statuses of households whose persons may not be proposed in another household.
INACTIVE = frozenset({"rejected", "removed"})

#: Chinese label of each status (the list is defined once, in ``domain/codes.py``).
STATUS_LABELS = {c.code: c.zh for c in STATUS}


@dataclass(frozen=True)
class Decision:
    action: str
    from_status: str
    to_status: str
    refused_status: str  # where a refusal sends the household
    level: str  # the office that decides: village | township | county
    needs_passed: str | None  # the notice that must have passed first
    label: str


@dataclass(frozen=True)
class Notice:
    key: str
    from_status: str
    to_status: str
    level: str
    title: str
    subject_type: str


DECISIONS = {d.action: d for d in (
    Decision("appraise", "proposed", "appraised", "rejected", "village", None, "村民主评议"),
    Decision("township-review", "village_notice", "township_reviewed", "rejected", "township",
             "identification.village", "乡镇审核"),
    Decision("county-approve", "township_notice", "county_approved", "rejected", "county",
             "identification.township", "县级审定"),
    Decision("register", "county_notice", "registered", "rejected", "county", "identification.county", "建档立卡"),
    Decision("exit-nominate", "registered", "exit_nominated", "registered", "village", None, "村提名退出"),
    Decision("exit-appraise", "exit_nominated", "exit_appraised", "registered", "village", None, "村民主评议（退出）"),
    Decision("exit-township-verify", "exit_village_notice", "exit_township_verified", "registered", "township",
             "exit.village", "乡镇核实"),
    Decision("exit-county-review", "exit_township_notice", "exit_county_reviewed", "registered", "county",
             "exit.township", "县复核"),
    Decision("exit-county-approve", "exit_county_reviewed", "exit_county_approved", "registered", "county", None,
             "县审批"),
    Decision("exit-confirm", "exit_announced", "exited", "registered", "county", "exit.announcement", "销号"),
)}

NOTICES = {n.key: n for n in (
    Notice("identification.village", "appraised", "village_notice", "village", "贫困户识别村内公示", "household_identification"),
    Notice("identification.township", "township_reviewed", "township_notice", "township", "贫困户识别乡镇公示",
           "household_identification"),
    Notice("identification.county", "county_approved", "county_notice", "county", "贫困户识别县级公告",
           "household_identification"),
    Notice("exit.village", "exit_appraised", "exit_village_notice", "village", "贫困户脱贫退出村内公示", "household_exit"),
    Notice("exit.township", "exit_township_verified", "exit_township_notice", "township", "贫困户脱贫退出乡镇公示",
           "household_exit"),
    Notice("exit.announcement", "exit_county_approved", "exit_announced", "village", "贫困户脱贫退出公告", "household_exit"),
)}


class WorkflowError(ValueError):
    """A step that the household's status does not allow."""


def decide(action: str, status: str, approve: bool) -> tuple[Decision, str]:
    """The decision named ``action`` on a household in ``status``: (decision, new status)."""
    decision = DECISIONS.get(action)
    if decision is None:
        raise WorkflowError(f"未知操作 (unknown action {action!r}; one of {', '.join(DECISIONS)})")
    if status != decision.from_status:
        raise WorkflowError(
            f"{decision.label}需要户状态为“{STATUS_LABELS[decision.from_status]}”，当前为“{STATUS_LABELS.get(status, status)}” "
            f"({action} needs status {decision.from_status}; the household is {status})"
        )
    return decision, decision.to_status if approve else decision.refused_status


def notice_transition(key: str, status: str) -> Notice:
    notice = NOTICES.get(key)
    if notice is None:
        raise WorkflowError(f"未知公示 (unknown notice {key!r}; one of {', '.join(NOTICES)})")
    if status != notice.from_status:
        raise WorkflowError(
            f"{notice.title}需要户状态为“{STATUS_LABELS[notice.from_status]}”，当前为“{STATUS_LABELS.get(status, status)}” "
            f"({key} needs status {notice.from_status}; the household is {status})"
        )
    return notice
