"""The announcement tables every service has (each in its own database)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Announcement(SQLModel, table=True):
    __tablename__ = "announcements"

    id: uuid.UUID = Field(primary_key=True)
    service: str
    subject_type: str = Field(index=True)
    subject_id: str = Field(index=True)
    level: str
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))
    title: str
    content: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    people: list[dict[str, Any]] = Field(sa_column=sa.Column(JSONB, nullable=False))
    hotline_local: str
    rendered_text: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    period: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))  # the rule applied
    status: str = Field(index=True)
    outcome: str | None = None
    withdrawn_reason: str | None = None
    created_by: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    closed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


class Objection(SQLModel, table=True):
    __tablename__ = "objections"
    __table_args__ = (sa.Index("objections_client_time_idx", "client_digest", "filed_at"),)

    id: uuid.UUID = Field(primary_key=True)
    announcement_id: uuid.UUID = Field(foreign_key="announcements.id", index=True)
    text: str
    # contact details are optional, kept for the officials handling the objection, never public
    contact_name: str | None = None
    contact_phone: str | None = None
    client_digest: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))  # salted hash of the address
    filed_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    status: str
    resolution_reason: str | None = None
    resolved_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


TABLES = (Announcement.__table__, Objection.__table__)  # type: ignore[attr-defined]  # set by SQLModel, not declared


def drop_tables(op) -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
