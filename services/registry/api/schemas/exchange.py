"""The answers of the exchange with other systems and offices: a bulk look-up of ID numbers
(``usecases/lookup.py``), a spreadsheet imported (``usecases/uploads.py``,
``usecases/department_lists.py``) and a duplicate candidate reviewed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.registry.api.schemas.common import Cause, Division, PovertyAttribute, Relation, Status
from services.registry.domain import office_codes as office
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


class DuplicatePersonOut(Answer):
    id: str
    id_number: str = Field(description="masked")
    name: str
    household: str = Field(description="户编号")
    division: Division


class DuplicateOut(Answer):
    id: str
    score: int = Field(ge=0, le=100)
    reasons: list[Literal[office.DUPLICATE_REASON.codes]]  # type: ignore[valid-type]
    found_by: str = Field(description="proposal, or import:<import id>")
    person: DuplicatePersonOut = Field(description="the newly proposed or imported person")
    other: DuplicatePersonOut = Field(description="the person already registered")


class DuplicatesOut(Answer):
    count: int
    items: list[DuplicateOut]


class ImportRecordOut(Answer):
    import_id: str
    kind: str = Field(description="roll, or department:<dept>")
    division: Division
    filename: str
    sha256: str
    encoding: str | None
    status: Literal["imported", "refused"]
    result: dict[str, Any] = Field(description="imported: the counts; refused: detail, total_errors and the first "
                                   "errors")
    by: str | None
    at: str


class ImportsOut(Answer):
    items: list[ImportRecordOut]
