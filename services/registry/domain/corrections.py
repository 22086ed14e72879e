"""Change requests (信息更正): what may be corrected, who must approve it, and the four-eyes rule.

A correction is proposed by one official and decided by another (never the proposer) whose level
is at least the one the policy rule ``registry.correction.approval`` names for its kind:

* ``identity`` — a person's name or ID number (the person's sex and birth date follow the new ID
  number, GB 11643);
* ``person`` — a person's other data (relation, ethnicity, education, health, labour …);
* ``household`` — the household's attribute, causes, relocation status, flags;
* ``department`` — a department's data on a person (低保, school stage …): proposed and decided
  by officials of that department.

Pure: no database, HTTP or Kafka. Values are validated here; uniqueness of an ID number among
active persons is the use case's (it needs the database), checked on proposal and again on
approval.
"""

from __future__ import annotations

from typing import Any, Callable

from services.registry.domain.codes import Cause, LabourCapacity, PovertyAttribute, Relation
from shared import divisions, idcard
from shared.vocabulary import Vocabulary

RULE = "registry.correction.approval"
KIND = Vocabulary.of("correction_kind", "更正类别", "correction kind", [
    ("identity", "身份信息（姓名、身份证号）", "identity: a person's name or ID number"),
    ("person", "人员信息", "a person's data"), ("household", "户信息", "a household's data"),
    ("department", "部门数据", "a department's data on a person")])
STATUS = Vocabulary.of("correction_status", "更正状态", "correction status", [
    ("proposed", "待审批", "proposed"), ("approved", "已批准", "approved"), ("rejected", "已驳回", "rejected")])
#: Office levels from the village up; an approver of a higher level may approve a lower one's.
LEVELS = ("village", "township", "county", "city", "province")
ROLE_LEVEL = {"village": "village", "township": "township", "county_office": "county", "city_office": "city",
              "province_office": "province"}


class CorrectionError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _text(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not 1 <= len(value.strip()) <= limit):
            raise ValueError(f"text of 1–{limit} characters")
        return value.strip() if isinstance(value, str) else None
    return check


def _code(enum_cls) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in {m.value for m in enum_cls}:
            raise ValueError("one of " + ", ".join(m.value for m in enum_cls))
        return value
    return check


def _id_number(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("an 18-character ID number")
    return idcard.parse(value).number  # raises ValueError naming the fault


def _one_of(*values: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in values:
            raise ValueError("one of " + ", ".join(map(str, values)))
        return value
    return check


def _flags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 30 for v in value):
        raise ValueError("a list of short texts")
    return value


IDENTITY_FIELDS = {"name": _text(50), "id_number": _id_number}
PERSON_FIELDS = {"relation": _code(Relation), "ethnicity": _text(20), "education": _text(30),
                 "school_stage": _text(30), "labour_capacity": _code(LabourCapacity), "labour_skill": _text(50),
                 "health": _one_of("healthy", "chronic", "major_illness", "disabled", None),
                 "disability_grade": _one_of(1, 2, 3, 4, None)}
HOUSEHOLD_FIELDS = {"poverty_attribute": _code(PovertyAttribute), "main_cause": _code(Cause),
                    "secondary_cause": _one_of(None, *(c.value for c in Cause)), "relocation_status": _text(30),
                    "flags": _flags}


def kind_of(target: str, changes: dict[str, Any]) -> str:
    """``identity`` when a person's name or ID number changes, else the target's own kind."""
    if target == "person" and set(changes) & set(IDENTITY_FIELDS):
        return "identity"
    return target


def validate(target: str, changes: dict[str, Any],
             department_fields: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The changes with their values normalised; CorrectionError names the first bad field."""
    if not changes:
        raise CorrectionError("changes", "nothing to change")
    if target == "department":
        assert department_fields is not None
        try:
            return department_fields(changes)
        except ValueError as exc:
            raise CorrectionError("changes", str(exc)) from None
    allowed = {**IDENTITY_FIELDS, **PERSON_FIELDS} if target == "person" else HOUSEHOLD_FIELDS
    clean = {}
    for field, value in changes.items():
        if field not in allowed:
            raise CorrectionError(f"changes.{field}", "not a correctable field; one of " + ", ".join(allowed))
        try:
            clean[field] = allowed[field](value)
        except ValueError as exc:
            raise CorrectionError(f"changes.{field}", str(exc)) from None
    return clean


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {old, new}}`` for the fields whose value changes."""
    return {field: {"old": old.get(field), "new": value} for field, value in new.items() if old.get(field) != value}


def approver_refusal(*, proposer: str, approver: str, approver_roles: frozenset[str], approver_division: str,
                     level: str, dept: str | None = None, approver_dept: str | None = None) -> str | None:
    """Why this approver may not decide (None: may). Self-approval is always refused."""
    if proposer == approver:
        return "提出人不能审核本人提出的更正 (the proposer may not decide their own change request)"
    if "admin" in approver_roles:
        return None
    if dept is not None:
        if "department" not in approver_roles or approver_dept != dept:
            return f"部门数据更正由{dept}部门审核 (a {dept} department official decides)"
        held: str | None = divisions.level(approver_division).value
    else:
        held = max((ROLE_LEVEL[r] for r in approver_roles if r in ROLE_LEVEL), key=LEVELS.index, default=None)
    if held is None or held not in LEVELS or LEVELS.index(held) < LEVELS.index(level):
        return f"此更正须由{level}级审核 (this change request needs an official of {level} level or above)"
    return None
