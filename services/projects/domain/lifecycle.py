"""The project lifecycle as data (扶贫项目库, 国开办发〔2018〕10号; DOMAIN.md §5).

    proposed ─township-review→ township_reviewed ─appraise→ appraised ─approve (绩效目标)→ approved
    ─publicity at each level (village → township → county, 逐级公示)→ in_publicity
    ─enter-library (every level's publicity passed)→ in_library ─plan→ planned
    ─(a commitment arrives from the funds service)→ funded ─report-progress→ in_progress
    ─complete (progress 100%)→ completed ─accept (验收 passed)→ accepted
    ─announce-results (at the site; again after a failed or withdrawn notice)→ results_announced
    ─hand-over (results notice passed)→ handed_over
    any stage before acceptance ─cancel→ cancelled;  a review, appraisal or approval may refuse → rejected

Each **step** names the offices that may take it (``site`` = the office of the project's own
division: a village for a village project, a township for a township one) and the named
**preconditions** it needs. :func:`check` answers a refusal with every missing precondition, so
a client is told what to do next rather than only that it may not. Pure: the API layer gathers
the :class:`Facts` (from its rows and the announcements) and calls this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

STAGES = MappingProxyType({
    "proposed": "村申报", "township_reviewed": "乡镇审核通过", "appraised": "县级论证通过", "approved": "县级审定通过",
    "in_publicity": "逐级公示中", "in_library": "已入库", "planned": "已列入年度实施计划", "funded": "资金已安排",
    "in_progress": "实施中", "completed": "已完工", "accepted": "已验收", "results_announced": "验收结果已公告",
    "handed_over": "资产已移交", "cancelled": "已取消", "rejected": "未通过",
})
#: Stages after which a project is no longer in the library's active work.
TERMINAL = frozenset({"handed_over", "cancelled", "rejected"})
#: A project can be cancelled at any step before acceptance (issue 6; DOMAIN §5).
BEFORE_ACCEPTANCE = ("proposed", "township_reviewed", "appraised", "approved", "in_publicity", "in_library",
                     "planned", "funded", "in_progress", "completed")
#: In the library: the funds service may commit money to it.
IN_LIBRARY = frozenset({"in_library", "planned", "funded", "in_progress", "completed", "accepted",
                        "results_announced", "handed_over"})

#: The publicity levels, lowest first (逐级公示), and the office (role) of each level.
LEVELS = ("village", "township", "county")
LEVEL_LABELS = MappingProxyType({"village": "村", "township": "乡镇", "county": "县"})


@dataclass(frozen=True)
class Facts:
    """What the preconditions look at, gathered by the caller."""

    stage: str
    targets: int = 0  # performance targets (绩效目标) recorded
    min_targets: int = 1  # from the policy rule project.approval.performance_targets
    required_levels: tuple[str, ...] = ()  # publicity levels this project needs
    publicity: Mapping[str, str] = field(default_factory=dict)  # level → passed | failed | published | withdrawn
    committed_fen: int = 0  # committed and not stranded (from the funds service's events)
    progress_percent: int = 0
    results_notice: str | None = None  # the site announcement's state


@dataclass(frozen=True)
class Missing:
    code: str
    label: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"precondition": self.code, "label": self.label, "detail": self.detail}


def _publicity_missing(facts: Facts) -> str | None:
    open_levels = [lvl for lvl in facts.required_levels if facts.publicity.get(lvl) != "passed"]
    if not open_levels:
        return None
    return "；".join(f"{LEVEL_LABELS[lvl]}级公示{_state_zh(facts.publicity.get(lvl))}" for lvl in open_levels)


def _state_zh(state: str | None) -> str:
    return {None: "未发布", "published": "未结束", "failed": "未通过(有异议)", "withdrawn": "已撤回",
            "draft": "未发布", "passed": "已通过"}.get(state, state or "未发布")


#: name → (label, check returning None when met or a detail of what is missing)
PRECONDITIONS: Mapping[str, tuple[str, Callable[[Facts], str | None]]] = MappingProxyType({
    "performance_targets": ("须有绩效目标(国开办发〔2018〕10号)", lambda f: None if f.targets >= f.min_targets else
                            f"已填{f.targets}项，至少{f.min_targets}项 (performance targets: {f.targets} of {f.min_targets})"),
    "publicity_passed": ("逐级公示须已结束且无异议", _publicity_missing),
    "funds_committed": ("须已安排资金(资金到位)", lambda f: None if f.committed_fen > 0 else
                        "资金服务尚无对本项目的有效资金安排 (no money is committed to the project)"),
    "progress_complete": ("实施进度须达100%", lambda f: None if f.progress_percent >= 100 else
                          f"当前进度{f.progress_percent}% (progress is {f.progress_percent}%)"),
    "results_announcement_passed": ("验收结果公告须已结束且无异议", lambda f: None if f.results_notice == "passed" else
                                    f"验收结果公告{_state_zh(f.results_notice)}"),
    # a results notice that failed (objection upheld) or was withdrawn is announced again once
    # the issue is dealt with; one running or passed is not repeated
    "results_announcement_not_open": ("验收结果公告未通过或撤回后方可重新公告",
                                      lambda f: None if f.results_notice not in ("published", "passed") else
                                      f"验收结果公告{_state_zh(f.results_notice)}"),
})


@dataclass(frozen=True)
class Step:
    action: str
    from_stages: tuple[str, ...]
    to_stage: str
    levels: tuple[str, ...]  # site | township | county | system
    preconditions: tuple[str, ...]
    label: str
    event: str  # the event type it is recorded as
    reject_to: str | None = None  # where a refusal (decision=reject) sends the project


STEPS = MappingProxyType({s.action: s for s in (
    Step("township-review", ("proposed",), "township_reviewed", ("township",), (), "乡镇审核",
         "projects.project.township_reviewed", "rejected"),
    Step("appraise", ("township_reviewed",), "appraised", ("county",), (), "县级论证",
         "projects.project.appraised", "rejected"),
    Step("approve", ("appraised",), "approved", ("county",), ("performance_targets",), "县级审定",
         "projects.project.approved", "rejected"),
    # one notice per level, lower levels first (check_publicity); POST /publicity
    Step("publicize", ("approved", "in_publicity"), "in_publicity", ("site", "township", "county"), (), "逐级公示",
         "projects.publicity.posted"),
    Step("enter-library", ("in_publicity",), "in_library", ("county",), ("publicity_passed",), "入库",
         "projects.project.entered_library"),
    Step("plan", ("in_library",), "planned", ("county",), (), "列入年度实施计划", "projects.project.planned"),
    Step("fund", ("planned",), "funded", ("system",), ("funds_committed",), "资金到位", "projects.project.funded"),
    Step("report-progress", ("funded", "in_progress"), "in_progress", ("site", "township", "county"),
         ("funds_committed",), "实施进度报告", "projects.progress.reported"),
    Step("complete", ("in_progress",), "completed", ("county",), ("progress_complete",), "完工",
         "projects.project.completed"),
    Step("accept", ("completed",), "accepted", ("county",), (), "验收", "projects.acceptance.recorded"),
    Step("announce-results", ("accepted", "results_announced"), "results_announced", ("site",),
         ("results_announcement_not_open",), "验收结果公告",
         "projects.results.announced"),
    Step("hand-over", ("results_announced",), "handed_over", ("county",), ("results_announcement_passed",),
         "资产移交", "projects.assets.handed_over"),
    Step("cancel", BEFORE_ACCEPTANCE, "cancelled", ("county",), (), "取消项目", "projects.project.cancelled"),
    Step("withdraw", ("proposed", "township_reviewed"), "cancelled", ("site",), (), "撤回申报",
         "projects.project.cancelled"),
)})
#: Steps taken through POST /projects/{code}/steps/{action} (the others have endpoints with bodies).
SIMPLE_STEPS = ("township-review", "appraise", "approve", "enter-library", "plan", "complete", "cancel", "withdraw")


class Refused(Exception):
    """A step the project's stage or facts do not allow; ``missing`` names every unmet precondition."""

    def __init__(self, step: Step | None, missing: list[Missing]):
        self.step, self.missing = step, missing
        what = step.label if step else "此操作"
        super().__init__(f"{what}不能进行：" + "；".join(f"{m.label}（{m.detail}）" for m in missing))


class UnknownStep(ValueError):
    pass


def step(action: str) -> Step:
    found = STEPS.get(action)
    if found is None:
        raise UnknownStep(f"未知操作 (unknown action {action!r}; one of {', '.join(STEPS)})")
    return found


def stage_missing(allowed: tuple[str, ...], stage: str) -> Missing | None:
    if stage in allowed:
        return None
    return Missing("stage", "项目阶段须为：" + "、".join(STAGES[s] for s in allowed),
                   f"当前为“{STAGES.get(stage, stage)}” (the project is {stage}; needs {' or '.join(allowed)})")


def check(action: str, facts: Facts, *, approve: bool = True) -> Step:
    """The step named ``action`` if the facts allow it, else :class:`Refused` with what is missing.
    A refusal (``approve=False``) needs only the stage: it may follow a failed precondition."""
    found = step(action)
    missing = [m for m in [stage_missing(found.from_stages, facts.stage)] if m]
    if not approve:
        if found.reject_to is None:
            missing.append(Missing("decision", "此步骤不能否决", f"{action} has no refusal"))
    elif not missing:
        for name in found.preconditions:
            label, test = PRECONDITIONS[name]
            detail = test(facts)
            if detail is not None:
                missing.append(Missing(name, label, detail))
    if missing:
        raise Refused(found, missing)
    return found


def next_stage(found: Step, approve: bool = True) -> str:
    return found.to_stage if approve else (found.reject_to or found.to_stage)


def offices(found: Step, project_level: str) -> tuple[str, ...]:
    """The division levels whose office may take the step on a project at ``project_level``."""
    return tuple(dict.fromkeys(project_level if lvl == "site" else lvl for lvl in found.levels))


# -- publicity (逐级公示) -----------------------------------------------------------------------------

def publicity_levels(project_level: str, configured: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The levels a project at ``project_level`` is publicised at: its own and each above it up to
    the county, as far as the policy rule ``project.publicity.levels`` lists them."""
    if project_level not in LEVELS:
        raise ValueError(f"projects are located in a village, township or county, not {project_level}")
    return tuple(lvl for lvl in LEVELS[LEVELS.index(project_level):] if lvl in configured)


def check_publicity(level: str, facts: Facts) -> None:
    """A notice at ``level`` may list the project: approved (or in publicity), the level is one it
    needs, each lower level has passed, and this level has no notice running or passed."""
    missing = [m for m in [stage_missing(("approved", "in_publicity"), facts.stage)] if m]
    if not missing:
        if level not in facts.required_levels:
            missing.append(Missing("publicity_level", "本项目不在此级公示",
                                   f"levels: {', '.join(facts.required_levels)}"))
        else:
            for lower in facts.required_levels[:facts.required_levels.index(level)]:
                if facts.publicity.get(lower) != "passed":
                    missing.append(Missing(f"publicity_passed:{lower}", f"{LEVEL_LABELS[lower]}级公示须先通过(逐级公示)",
                                           f"{LEVEL_LABELS[lower]}级公示{_state_zh(facts.publicity.get(lower))}"))
            if facts.publicity.get(level) in ("published", "passed"):
                missing.append(Missing(f"publicity_open:{level}", f"{LEVEL_LABELS[level]}级已公示",
                                       f"{LEVEL_LABELS[level]}级公示{_state_zh(facts.publicity.get(level))}"))
    if missing:
        raise Refused(None, missing)
