"""Which department owns which field of a person (and of a household), and what a department sees.

1. Every person field is either **basic** (shared by every reader: who the person is, the
   household relation, ethnicity, education attained, labour capacity and skill, active) or owned
   by exactly one department (:data:`PERSON_FIELD_DEPARTMENT`); a department's own records of the
   person live in ``details[<department>]`` and are owned by it.
2. A department token (role ``department`` with its ``dept``) reads the basic fields and its own
   department's fields only — on every route that returns person data — and writes only its own
   (``PUT /persons/{id}/departments/{dept}``, ``PUT /households/{id}/housing``).
3. Every other reader (village, township, county and higher offices, finance, auditors, admin)
   reads every field of the records in its jurisdiction.

Departments: 民政 civil_affairs (低保/特困), 教育 education, 卫健 health, 人社 human_resources,
残联 disabled_persons, 住建 housing (the codes of ``shared.auth.DEPARTMENTS``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from shared.vocabulary import Vocabulary

__all__ = ["BASIC_PERSON_FIELDS", "DEPARTMENT", "DEPARTMENT_LABELS", "DEPARTMENT_SCHOOL_STAGE",
           "HOUSEHOLD_FIELD_DEPARTMENT", "PERSON_FIELD_DEPARTMENT", "household_for", "person_for"]

DEPARTMENT = Vocabulary.of("department", "部门", "department", [
    ("civil_affairs", "民政", "civil affairs"), ("education", "教育", "education"), ("health", "卫健", "health"),
    ("human_resources", "人社", "human resources and social security"),
    ("disabled_persons", "残联", "disabled persons' federation"), ("housing", "住建", "housing")])
#: the school stage the education department reports (its own list, coarser than the roll's ``school_stage``)
DEPARTMENT_SCHOOL_STAGE = Vocabulary.of("department_school_stage", "在校阶段（教育部门）",
                                        "school stage (education department)", [
    ("preschool", "学前教育", "preschool"), ("primary", "小学", "primary"), ("junior", "初中", "junior secondary"),
    ("senior", "高中", "senior secondary"), ("vocational", "中职", "secondary vocational"),
    ("college", "大学", "college"), ("graduate", "研究生", "graduate"), ("none", "不在校", "not in school")])

DEPARTMENT_LABELS: Mapping[str, str] = MappingProxyType({c.code: c.zh for c in DEPARTMENT})

#: shared by every reader of a person
BASIC_PERSON_FIELDS = frozenset({"id_number", "name", "relation", "relation_label", "sex", "birth_date", "ethnicity", "education",
                                 "labour_capacity", "labour_skill", "active"})

#: person field → the department that owns it (besides ``details[<department>]``)
PERSON_FIELD_DEPARTMENT: Mapping[str, str] = MappingProxyType({
    "school_stage": "education",
    "health": "health",
    "disability_grade": "disabled_persons",
})

#: household field → the department that owns it; other household fields are not a person's
HOUSEHOLD_FIELD_DEPARTMENT: Mapping[str, str] = MappingProxyType({"housing": "housing"})


def person_for(person: Mapping[str, Any], dept: str | None) -> dict[str, Any]:
    """A person's fields as ``dept`` may read them (``None``: not a department — everything)."""
    if dept is None:
        return dict(person)
    seen = {k: v for k, v in person.items() if k in BASIC_PERSON_FIELDS or PERSON_FIELD_DEPARTMENT.get(k) == dept}
    if "details" in person:
        details = person["details"] or {}
        seen["details"] = {dept: details[dept]} if dept in details else {}
    return seen


def household_for(household: Mapping[str, Any], dept: str | None) -> dict[str, Any]:
    """A household record as ``dept`` may read it: its members through :func:`person_for`, fields
    owned by another department left out."""
    if dept is None:
        return dict(household)
    seen = {k: v for k, v in household.items() if HOUSEHOLD_FIELD_DEPARTMENT.get(k, dept) == dept}
    if "members" in household:
        seen["members"] = [person_for(member, dept) for member in household["members"]]
    return seen
