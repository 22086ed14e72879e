"""The answers of the exchange with other systems and offices: a bulk look-up of ID numbers
(``usecases/lookup.py``), a spreadsheet imported (``usecases/uploads.py``,
``usecases/department_lists.py``) and a duplicate candidate reviewed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.registry.api.schemas.common import Cause, Division, PovertyAttribute, Relation, Status
from services.registry.domain.codes import VOCABULARIES
from services.registry.domain.duplicates import STATUS as DUPLICATE
from services.registry.usecases.assistance import DEPARTMENT_FIELDS
from shared.web.answers import Answer


class LookupItemOut(Answer):
    """One ID number as sent: ``found``, and when found in your jurisdiction the person's registry
    status and the fields your role may read (a department: the basic ones and its own)."""

    id_number: str
    found: bool
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = Field(None, description="ISO date")
    active: bool | None = None
    relation: Relation | None = None
    ethnicity: str | None = None
    education: str | None = None
    school_stage: str | None = Field(None, description="education department's field")
    health: str | None = Field(None, description="health department's field")
    disability_grade: int | None = Field(None, description="disabled persons' federation's field")
    labour_capacity: Literal[VOCABULARIES["labour_capacity"].codes] | None = None  # type: ignore[valid-type]
    labour_skill: str | None = None
    details: dict[str, Any] | None = Field(None, description="each department's own records of the person")
    household: str | None = Field(None, description="户编号")
    division: Division | None = None
    status: Status | None = None
    on_roll: bool | None = Field(None, description="the household is on the roll (registered, not yet exited)")
    poverty_attribute: PovertyAttribute | None = None
    main_cause: Cause | None = None


class LookupOut(Answer):
    count: int = Field(description="numbers sent")
    found: int = Field(description="numbers found in your jurisdiction")
    items: list[LookupItemOut] = Field(description="in the order sent")


class UploadedOut(Answer):
    import_id: str = Field(description="the upload in GET /imports")
    replayed: bool = Field(description="the same file was imported before: its first result, nothing written")


class RollImportedOut(UploadedOut):
    households: int
    persons: int
    duplicate_candidates: int = Field(description="persons flagged as possibly already registered "
                                      "(GET /reports/duplicates)")


class DepartmentListOut(UploadedOut):
    dept: Literal[tuple(DEPARTMENT_FIELDS)]  # type: ignore[valid-type]
    persons: int = Field(description="persons whose data was recorded")


class DuplicateReviewedOut(Answer):
    id: str
    status: Literal[DUPLICATE.codes]  # type: ignore[valid-type]
    kept_id: str | None = Field(description="confirmed: the person record that stays")
