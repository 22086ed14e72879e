"""The projects gate (seed 004 L27; DOMAIN.md §4): the funds service takes money for a project —
a commitment, a single disbursement, a batch line — only when the projects service has put it in
this county's library with its publicity passed (the announcement closed without an upheld
objection: ``projects.project.entered_library`` with ``publicity_passed``) and has not cancelled it.

One rule, one table: the refusal codes in the order they are tried, each with its reason. The
service reads the project from its read model of the projects service's events (``projects_view``)
and calls :func:`refusal`; nothing here does I/O.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from shared import divisions

#: (code, reason, the project fails the gate when) — tried in this order; the first that holds refuses.
RULES: tuple[tuple[str, str, Callable[[Mapping[str, Any] | None, str], bool]], ...] = (
    ("unknown_project", "不在本县项目库中 (not in this county's project library)",
     lambda project, county: project is None or not divisions.within(project["division"], county)),
    ("project_cancelled", "项目已取消 (the project was cancelled)",
     lambda project, county: bool(project and project["cancelled"])),
    ("project_not_in_library", "项目未入库或公示未通过 (not in the library, or its publicity has not passed)",
     lambda project, county: not (project and project["in_library"] and project["publicity_passed"])),
)
REASONS = {code: reason for code, reason, _ in RULES}


def refusal(project: Mapping[str, Any] | None, county: str) -> str | None:
    """The refusal code for money to ``project`` (its read-model row, or None when the funds service
    has heard nothing of it) from ``county``; None when the project may be funded."""
    for code, _reason, fails in RULES:
        if fails(project, county):
            return code
    return None


def sentence(project_code: str, code: str) -> str:
    """What a refusal says, naming the project."""
    return f"项目{project_code}不能安排资金：{REASONS[code]}"
