"""Which fields of a person a caller may see (one definition: bulk lookup and exports use it).

Offices of the poverty-alleviation system and auditors see the whole record. Another department
sees the person's identity and registry status, plus what its own work needs (and its own data on
the person): 民政 the household's poverty attribute, 教育 the school stage, 卫健 health and
disability, 人社 labour and skills, 残联 disability, 住建 nothing more.
"""

from __future__ import annotations

from typing import Any

#: Every caller who may read persons at all sees these.
IDENTITY = frozenset({"id_number", "name", "sex", "birth_date", "active", "household", "division", "status",
                      "on_roll"})
PERSON = frozenset({"relation", "ethnicity", "education", "school_stage", "health", "disability_grade",
                    "labour_capacity", "labour_skill", "poverty_attribute", "main_cause", "details"})
DEPARTMENT_SEES: dict[str, frozenset[str]] = {
    "civil_affairs": frozenset({"relation", "poverty_attribute", "details.civil_affairs"}),
    "education": frozenset({"school_stage", "education", "details.education"}),
    "health": frozenset({"health", "disability_grade", "details.health"}),
    "human_resources": frozenset({"labour_capacity", "labour_skill", "details.human_resources"}),
    "disabled_persons": frozenset({"disability_grade", "details.disabled_persons"}),
    "housing": frozenset(),
}


def person_fields_visible(roles: frozenset[str], dept: str | None) -> frozenset[str]:
    """The fields of a person this caller may see."""
    if "department" in roles and not roles & {"admin", "auditor"}:
        return IDENTITY | DEPARTMENT_SEES.get(dept or "", frozenset())
    return IDENTITY | PERSON


def visible(record: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """``record`` cut down to ``fields`` (``details.<dept>`` picks one department's details)."""
    shown = {k: v for k, v in record.items() if k in fields and k != "details"}
    details = record.get("details") or {}
    if "details" in fields:
        shown["details"] = details
    else:
        own = {k.split(".", 1)[1]: details[k.split(".", 1)[1]] for k in fields
               if k.startswith("details.") and k.split(".", 1)[1] in details}
        if own:
            shown["details"] = own
    return shown
