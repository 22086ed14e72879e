"""Tables of the projects service's results area: 百企千村 enterprises and their pairings with
villages, the projects and labourers of each pairing, and each accepted project's performance
evaluation (绩效评价). Every change is written with its event (rule 2); the schema is revision
``0004_results`` (``services/projects/ddl_results.py``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _json():
    return sa.Column(JSONB, nullable=False)


class Enterprise(SQLModel, table=True):
    """An enterprise taking part in 百企千村, by its 统一社会信用代码."""

    __tablename__ = "enterprises"

    credit_code: str = Field(sa_column=sa.Column(sa.CHAR(18), primary_key=True))
    name: str
    type: str
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # the registering office's
    registered_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class Pairing(SQLModel, table=True):
    """An enterprise paired with villages of a county for some years, with its commitments per year."""

    __tablename__ = "pairings"

    id: uuid.UUID = Field(primary_key=True)
    credit_code: str = Field(sa_column=sa.Column(sa.CHAR(18), sa.ForeignKey("enterprises.credit_code"), nullable=False,
                                                 index=True))
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # the county
    villages: list[str] = Field(sa_column=_json())
    first_year: int
    last_year: int
    commitments: dict[str,
                      Any] = Field(sa_column=_json())  # "2018" → {villages, households, labourers, income_fen, investment_fen}
    agreed_on: date


class PairingProject(SQLModel, table=True):
    __tablename__ = "pairing_projects"

    pairing_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("pairings.id"), primary_key=True))
    code: str = Field(sa_column=sa.Column(sa.String(40), sa.ForeignKey("projects.code"), primary_key=True))


class PairingLabourer(SQLModel, table=True):
    """A registered poor labourer the enterprise reports it hired (its roster)."""

    __tablename__ = "pairing_labourers"

    pairing_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("pairings.id"), primary_key=True))
    household_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(primary_key=True)
    hired_on: date


class Evaluation(SQLModel, table=True):
    """The performance evaluation of an accepted project (one per project; a new one replaces it)."""

    __tablename__ = "project_evaluations"

    code: str = Field(sa_column=sa.Column(sa.String(40), sa.ForeignKey("projects.code"), primary_key=True))
    on: date
    indicators: list[dict[str, Any]] = Field(sa_column=_json())
    score: str
    rating: str
    rating_label: str
    citation: str
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


TABLES = tuple(model.__table__ for model in (Enterprise, Pairing, PairingProject, PairingLabourer, Evaluation))
