"""The projects service's tables (扶贫项目库). Every change to a project is written with its event
(rule 2); ``registry_households`` and ``project_postings`` are read models of the registry's and
the funds service's events (rule 1: what this service knows of the others)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _json(nullable: bool = False, default: str | None = None):
    return sa.Column(JSONB(none_as_null=True), nullable=nullable,
                     server_default=sa.text(f"'{default}'::jsonb") if default else None)


def _fen(nullable: bool = False):
    return sa.Column(sa.BigInteger, nullable=nullable)


def _code(primary_key: bool = False, index: bool = False):
    """A project code column; a foreign key to projects where it is not the key itself."""
    return sa.Column(sa.String(40), sa.ForeignKey("projects.code"), primary_key=primary_key,
                     nullable=False, index=index)


class Project(SQLModel, table=True):
    """A project of the library, with the fields of DOMAIN.md §5."""

    __tablename__ = "projects"

    code: str = Field(sa_column=sa.Column(sa.String(40), primary_key=True))  # 652722-2018-0001
    name: str
    type: str = Field(index=True)  # catalogue code
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # village or township
    year: int = Field(index=True)  # the year it is to be carried out (年度)
    stage: str = Field(index=True)
    implementing_unit: str  # 实施单位
    schedule: dict[str, Any] = Field(sa_column=_json())  # {start, end}
    tasks: list[str] = Field(sa_column=_json())  # 建设任务
    budget_fen: int = Field(sa_column=_fen())
    sources: list[dict[str, Any]] = Field(sa_column=_json())  # planned sources [{channel, amount_fen}]
    mechanisms: list[str] = Field(sa_column=_json())  # 带贫益贫机制 codes
    mechanism_note: str = ""
    participation: dict[str, Any] = Field(sa_column=_json())  # 群众参与 {discussed_on, meeting, participants, note}
    targets: list[dict[str, Any]] = Field(sa_column=_json())  # 绩效目标 [{kind, indicator, target, unit}]
    planned_households: int = 0  # poor households it is to drive (计划带动)
    planned_persons: int = 0
    announcements: dict[str, str] = Field(default_factory=dict, sa_column=_json(default="{}"))  # level|results → id
    progress_percent: int = 0
    completed_on: date | None = None
    cancel_reason: str | None = None
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class StageChange(SQLModel, table=True):
    """Each stage a project had and from when (the event that moved it)."""

    __tablename__ = "project_stage_history"

    code: str = Field(sa_column=_code(primary_key=True))
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    stage: str
    effective_on: date


class Progress(SQLModel, table=True):
    """A progress report: percentage, photos (file references), date."""

    __tablename__ = "project_progress"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(sa_column=_code(index=True))
    on: date
    percent: int
    photos: list[str] = Field(sa_column=_json())
    note: str = ""


class Acceptance(SQLModel, table=True):
    """An acceptance inspection (验收): date, team, result, issues found."""

    __tablename__ = "project_acceptances"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(sa_column=_code(index=True))
    on: date
    team: list[dict[str, Any]] = Field(sa_column=_json())  # [{name, unit, role}]
    result: str  # passed | failed
    issues: list[str] = Field(sa_column=_json())


class Beneficiary(SQLModel, table=True):
    """A registered poor household a project drives (带贫), with how."""

    __tablename__ = "project_beneficiaries"

    code: str = Field(sa_column=_code(primary_key=True))
    household_id: uuid.UUID = Field(primary_key=True, index=True)
    mechanism: str
    persons: int  # household size when added
    added_on: date


class BenefitRecord(SQLModel, table=True):
    """What a household received from a project (published as ``projects.benefit.recorded``)."""

    __tablename__ = "project_benefits"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(sa_column=_code(index=True))
    household_id: uuid.UUID = Field(index=True)
    kind: str  # wages | dividend | subsidy | in_kind
    amount_fen: int = Field(sa_column=_fen())
    on: date
    distribution_id: uuid.UUID | None = None  # set for an asset's dividend


class FundingPosting(SQLModel, table=True):
    """A funds posting for a project (read model of the funds service's events)."""

    __tablename__ = "project_postings"

    posting_id: str = Field(primary_key=True)
    code: str = Field(sa_column=_code(index=True))
    operation: str  # commit | disburse | strand
    channel: str
    fiscal_year: int
    amount_fen: int = Field(sa_column=_fen())
    on: date
    payee: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    source_event: str


class RegistryHousehold(SQLModel, table=True):
    """The registry's households as far as beneficiaries need them (read model of its events)."""

    __tablename__ = "registry_households"

    id: uuid.UUID = Field(primary_key=True)
    number: str
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))
    status: str
    head_name: str | None = None
    persons: int


class Asset(SQLModel, table=True):
    """An asset handed over (资产移交): kind, owner, operator, book value, shares."""

    __tablename__ = "assets"

    id: str = Field(primary_key=True)  # <project code>-A<n>
    code: str = Field(sa_column=_code(index=True))
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # the village it is in
    name: str
    kind: str  # public_good | productive
    owner: str  # village_collective | households
    operator: dict[str, Any] = Field(sa_column=_json())  # {name, kind, responsibility}
    book_value_fen: int = Field(sa_column=_fen())
    handed_over_on: date
    shares: list[dict[str, Any]] = Field(sa_column=_json())  # [{holder, shares}]


class Distribution(SQLModel, table=True):
    """An asset's income distributed to its shareholders for a period."""

    __tablename__ = "asset_distributions"
    __table_args__ = (sa.UniqueConstraint("asset_id", "period", name="asset_distributions_once_per_period"),)

    id: uuid.UUID = Field(primary_key=True)
    asset_id: str = Field(foreign_key="assets.id", index=True)
    period: str
    on: date
    amount_fen: int = Field(sa_column=_fen())
    lines: list[dict[str, Any]] = Field(sa_column=_json())  # [{holder, shares, amount_fen}]
    announcement_id: str


class Adjustment(SQLModel, table=True):
    """A fourth-quarter adjustment of the library: its items, announced once, applied once."""

    __tablename__ = "library_adjustments"

    announcement_id: uuid.UUID = Field(primary_key=True)
    county: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False))
    year: int
    items: list[dict[str, Any]] = Field(sa_column=_json())
    applied_on: date | None = None


TABLES = tuple(model.__table__ for model in (
    Project, StageChange, Progress, Acceptance, Beneficiary, BenefitRecord, FundingPosting, RegistryHousehold,
    Asset, Distribution, Adjustment))
