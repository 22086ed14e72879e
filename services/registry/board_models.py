"""The public board's read model (registry database): every service's announcements and
objections as their events told it, masked — nothing here is personal data."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _json(nullable: bool = False) -> Any:
    return sa.Column(JSONB, nullable=nullable)


def _when(nullable: bool = True) -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class BoardNotice(SQLModel, table=True):
    """One announcement of any service, as published (masked)."""

    __tablename__ = "board_notices"
    __table_args__ = (sa.Index("board_notices_division_published_idx", "division", "published_at"),)

    id: uuid.UUID = Field(primary_key=True)
    service: str
    subject_type: str
    level: str
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False))
    title: str
    content: dict[str, Any] = Field(sa_column=_json())
    people: list[dict[str, Any]] = Field(sa_column=_json())
    hotline_local: str
    rendered_text: str | None = None
    period: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    period_end: date | None = None
    status: str
    outcome: str | None = None
    withdrawn_reason: str | None = None
    published_at: datetime | None = Field(default=None, sa_column=_when())
    closed_at: datetime | None = Field(default=None, sa_column=_when())


class BoardObjection(SQLModel, table=True):
    """One objection: its receipt number and where it stands; never its text or its author."""

    __tablename__ = "board_objections"

    receipt: str = Field(sa_column=sa.Column(sa.CHAR(10), primary_key=True))
    objection_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, unique=True))
    service: str
    announcement_id: uuid.UUID = Field(index=True)
    status: str
    filed_at: datetime = Field(sa_column=_when(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=_when())


TABLES = (BoardNotice.__table__, BoardObjection.__table__)
