"""The registry's tables for the county's case work (issue 16): grievances, change requests,
duplicate candidates and the import history. Every change to them is written with its event
(rule 2); the frozen DDL is revision ``0004_county``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.registry.models import Person, _json


def _when() -> Any:
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class Grievance(SQLModel, table=True):
    """A grievance (监督举报) from receipt to closure; the complainant and the text are never public."""

    __tablename__ = "grievances"

    id: uuid.UUID = Field(primary_key=True)
    receipt: str = Field(sa_column=sa.Column(sa.CHAR(10), nullable=False, unique=True))
    channel: str
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))
    summary: str
    complainant: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    links: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json(default="[]"))
    category: str | None = None
    status: str = Field(index=True)
    assigned_to: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(12)))
    received_on: date
    accept_by: date
    answer_by: date
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=_json(default="{}"))  # {id, citation}
    outcome: str | None = None
    answer: str | None = None
    answered_on: date | None = None
    closed_on: date | None = None
    created_at: datetime = _when()
    updated_at: datetime = _when()


class ChangeRequest(SQLModel, table=True):
    """A proposed correction of a person's, a household's or a department's data, awaiting a second
    official's decision."""

    __tablename__ = "change_requests"

    id: uuid.UUID = Field(primary_key=True)
    kind: str  # person | household | department
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="persons.id")
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))
    changes: dict[str, Any] = Field(sa_column=_json())  # field → {old, new}
    reason: str
    document: str | None = None
    level: str  # the level whose office approves
    status: str = Field(index=True)  # proposed | approved | rejected
    proposed_by: dict[str, Any] = Field(sa_column=_json())
    decided_by: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    decision_reason: str | None = None
    created_at: datetime = _when()
    decided_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


class DuplicateCandidate(SQLModel, table=True):
    """Two persons that may be one: flagged for review, never merged without it."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (sa.UniqueConstraint("person_id", "other_id", name="duplicate_candidates_pair"),)

    id: uuid.UUID = Field(primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)  # the newly proposed or imported one
    other_id: uuid.UUID = Field(foreign_key="persons.id", index=True)  # the one already registered
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # the new person's village
    score: int
    reasons: list[str] = Field(sa_column=_json())
    found_by: str  # proposal | import:<id>
    status: str = Field(index=True)  # open | not_duplicate | confirmed
    kept_id: uuid.UUID | None = None
    decided_by: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    created_at: datetime = _when()
    decided_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


class ImportRecord(SQLModel, table=True):
    """One upload (the roll or a department's list) and its result, imported or refused."""

    __tablename__ = "imports"
    __table_args__ = (sa.Index("imports_content", "kind", "division", "sha256"),)

    id: uuid.UUID = Field(primary_key=True)
    kind: str  # roll | department:<dept>
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # the uploader's
    filename: str
    sha256: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    encoding: str | None = None
    status: str  # imported | refused
    result: dict[str, Any] = Field(sa_column=_json())
    actor: dict[str, Any] = Field(sa_column=_json())
    created_at: datetime = _when()


#: Duplicate screening looks up registered persons by birth date (the block of GB 11643 digits 7–14).
PERSONS_BY_BIRTH = sa.Index("persons_birth_date_idx", Person.__table__.c.birth_date)

TABLES = tuple(model.__table__ for model in (Grievance, ChangeRequest, DuplicateCandidate, ImportRecord))
