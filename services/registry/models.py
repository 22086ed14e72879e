"""The registry's tables (建档立卡). Every change to them is written with its event (rule 2).

Households are permanent (no DELETE, no change of ``id``, no TRUNCATE: ``households_permanent``).
The ``household_id`` of persons, incomes and status rows must name a household: since registry
revision 0009 a statement-level trigger checks each statement's rows at once (SQLSTATE 23503, as
the foreign keys it replaced) — the bulk import writes millions of them — so these three columns
carry no ``ForeignKey`` here; measures and benefits keep theirs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _json(nullable: bool = False, default: Any = None):
    # none_as_null: Python None is SQL NULL (not the JSON value null), so IS NULL finds it
    return sa.Column(JSONB(none_as_null=True), nullable=nullable,
                     server_default=sa.text(f"'{default}'::jsonb") if default else None)


class Division(SQLModel, table=True):
    """Reference data: an administrative division (统计用区划代码), its history and flags."""

    __tablename__ = "divisions"

    code: str = Field(sa_column=sa.Column(sa.CHAR(12), primary_key=True))
    name: str
    level: str
    parent: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(12), index=True))
    valid_from: date | None = None
    valid_to: date | None = None
    aliases: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json(default="[]"))  # [{name, from, to}]
    flags: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json(default="[]"))  # [{flag, class?, from, to}]
    rural_population: int | None = None  # villages: for 贫困发生率
    population_year: int | None = None
    synthetic: bool = False  # code made up where the real one was not at hand


class Household(SQLModel, table=True):
    """A poor household (贫困户) through identification, assistance, exit and monitoring."""

    __tablename__ = "households"

    id: uuid.UUID = Field(primary_key=True)
    number: str = Field(unique=True)  # 户编号
    division: str = Field(sa_column=sa.Column(sa.CHAR(12), nullable=False, index=True))  # village
    status: str = Field(index=True)
    poverty_attribute: str
    main_cause: str = Field(index=True)
    secondary_cause: str | None = None
    registered_year: int | None = Field(default=None, index=True)
    registered_on: date | None = None
    exited_on: date | None = None
    removed_on: date | None = None
    removal_reason: str | None = None
    returned_on: date | None = None
    return_cause: str | None = None
    helper: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))  # 帮扶责任人 {name, unit, phone}
    checks: dict[str, bool] = Field(default_factory=dict, sa_column=_json(default="{}"))  # 两不愁三保障 / 四具有
    housing: dict[str, Any] = Field(default_factory=dict, sa_column=_json(default="{}"))  # {dangerous_grade: C|D}
    relocation_status: str | None = None
    flags: list[str] = Field(default_factory=list, sa_column=_json(default="[]"))  # 零就业家庭, 三留守, 军烈属 …
    monitoring: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))  # {category, route, since}
    announcements: dict[str, str] = Field(default_factory=dict, sa_column=_json(default="{}"))  # step → announcement id
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class Person(SQLModel, table=True):
    """A household member (家庭成员). One person is in at most one active household nationwide."""

    __tablename__ = "persons"
    __table_args__ = (
        # one index for every look-up by ID number and for "at most one active household": an
        # active row's second key is true, an inactive row's NULL (NULLs never collide); migration 0008
        # (pg_get_indexdef's spelling of the expression, so that the schema comparison sees no drift)
        sa.Index("persons_one_active_household", "id_number", sa.text("NULLIF(active, false)"),
                 unique=True),
        sa.Index("persons_name_idx", "name"),
    )

    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(index=True)  # a household (trigger, revision 0009)
    id_number: str = Field(sa_column=sa.Column(sa.CHAR(18), nullable=False))
    name: str
    relation: str
    sex: str
    birth_date: date
    ethnicity: str | None = None
    education: str | None = None
    school_stage: str | None = None  # 学前 … 研究生; dropout flag in details
    health: str | None = None  # healthy | chronic | major_illness | disabled
    disability_grade: int | None = None
    labour_capacity: str
    labour_skill: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=_json(default="{}"))  # employment, insurance, 低保/特困 …
    active: bool = True


class Income(SQLModel, table=True):
    """A household's per-capita income for a year, in fen: 纯收入 and 可支配收入 (seed 003 L193/L197)."""

    __tablename__ = "household_incomes"

    household_id: uuid.UUID = Field(primary_key=True)  # a household (trigger, revision 0009)
    year: int = Field(primary_key=True)
    net_per_capita_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    disposable_per_capita_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    components: dict[str, int] = Field(default_factory=dict, sa_column=_json(default="{}"))  # 工资性 生产经营性 财产性 转移性


class Measure(SQLModel, table=True):
    """An assistance measure (措施到户), coded by pathway."""

    __tablename__ = "measures"

    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    pathway: str
    description: str
    year: int
    amount_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=_json(default="{}"))  # loan terms …


class Benefit(SQLModel, table=True):
    """What a household received (享受扶持情况), from projects and funds events."""

    __tablename__ = "benefits"

    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    source_event: str = Field(unique=True)  # the consumed event's id
    source: str  # projects | funds
    reference: str  # project code or payment reference
    kind: str  # wages | dividend | subsidy | in_kind | payment
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    on: date


class StatusChange(SQLModel, table=True):
    """Each status a household had and from when: answers "as of date D"."""

    __tablename__ = "household_status_history"

    household_id: uuid.UUID = Field(primary_key=True)  # a household (trigger, revision 0009)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))  # the event that made the change
    status: str
    effective_on: date = Field(index=True)


TABLES = tuple(model.__table__ for model in (Division, Household, Person, Income, Measure, Benefit, StatusChange))
