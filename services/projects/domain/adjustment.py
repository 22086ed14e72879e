"""The annual adjustment of the library (项目库年度调整, DOMAIN.md §5: "adjusted every fourth
quarter"): one batch of additions, removals and changes, announced once by the county and
applied once the announcement has passed. Pure: which items a batch may hold, and when."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any, Mapping

from services.projects.domain.lifecycle import STAGES, Missing

#: The kinds of item of a batch (code list ``adjustment_action``): code → Chinese label.
ACTIONS = MappingProxyType({"add": "新增入库", "remove": "出库", "change": "调整"})
#: What each kind of item may touch: the stages it applies to.
ITEM_STAGES = {
    # an approved project whose lower-level publicity passed; the adjustment notice is its county one
    "add": ("approved", "in_publicity"),
    # out of the library (出库) before work starts; committed money becomes stranded funds
    "remove": ("in_library", "planned", "funded"),
    # corrections to a project in the library that is not finished
    "change": ("in_library", "planned", "funded", "in_progress"),
}
#: Fields a "change" item may set.
CHANGEABLE = ("name", "implementing_unit", "schedule", "tasks", "budget", "sources", "targets", "year")


def quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


def check_window(day: date, rule_value: Mapping[str, Any], citation: str) -> Missing | None:
    """The adjustment is announced in the quarter the rule names (project.library.adjustment)."""
    wanted = int(rule_value["quarter"])
    if quarter(day) == wanted:
        return None
    return Missing("adjustment_window", f"项目库调整在第{wanted}季度进行 ({citation})",
                   f"今天{day.isoformat()}属第{quarter(day)}季度 (today is in quarter {quarter(day)})")


def check_item(action: str, stage: str, lower_publicity_passed: bool) -> Missing | None:
    allowed = ITEM_STAGES[action]
    if stage not in allowed:
        return Missing("stage", f"{action}: 项目阶段须为" + "、".join(STAGES[s] for s in allowed),
                       f"当前为“{STAGES.get(stage, stage)}” (the project is {stage})")
    if action == "add" and not lower_publicity_passed:
        return Missing("publicity_passed", "县级以下各级公示须已通过(逐级公示)",
                       "the village/township publicity has not passed")
    return None
