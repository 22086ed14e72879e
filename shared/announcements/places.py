"""The names of divisions on a service's public pages (精河县, not 652722000000).

The registry keeps the division reference data (``registry.divisions.loaded``); a service that is not
the registry keeps the names it needs in ``division_names``, fed by those events through its
``handlers.py`` (rule 1: no service reads another's tables). Guarantees:

1. **Fed by events only.** Each record of an event is upserted by code, so an event applied twice
   changes nothing and a later load (a rename) replaces the earlier one.
2. **The name in force on a date.** An alias whose ``from``/``to`` bounds (inclusive) contain the
   date replaces the current name (托托乡 before 2016, 托托镇 after): :func:`shared.divisions.name_on`,
   the registry's own rule.
3. **Never an error for a code it does not know**: that division reads as its level and code
   (``县 652722000000``), as before the names arrive.

``label`` is the one way a code is written for people on every public page, the registry's board too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import divisions

_metadata = sa.MetaData()
division_names = sa.Table(
    "division_names", _metadata,
    sa.Column("code", sa.CHAR(12), primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("aliases", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
)

# created by funds' revision 0012_division_names and projects' 0007_division_names


async def save(session: AsyncSession, records: Iterable[Mapping[str, Any]]) -> None:
    """Upsert the records of a ``registry.divisions.loaded`` event (``code``, ``name``, ``aliases``)."""
    rows = {divisions.normalize(r["code"]): {"name": r["name"], "aliases": json.loads(json.dumps(r.get("aliases") or []))}
            for r in records}
    if not rows:
        return
    statement = insert(division_names).values([{"code": code, **row} for code, row in sorted(rows.items())])
    await session.execute(statement.on_conflict_do_update(
        index_elements=["code"], set_={"name": statement.excluded.name, "aliases": statement.excluded.aliases}))


async def names(session: AsyncSession, codes: Iterable[str], on: date) -> dict[str, str]:
    """{code: name in force on the date} of the given divisions and every division above them that is known."""
    wanted = sorted({a for code in codes for a in divisions.ancestors(code)})
    if not wanted:
        return {}
    rows = (await session.execute(sa.select(division_names).where(division_names.c.code.in_(wanted)))).all()
    return {row.code: divisions.name_on(row.name, row.aliases, on) for row in rows}


def label(code: str, names: Mapping[str, str], *, below: str | None = None) -> str:
    """A division as people name it: its name, with the names of the divisions between it and
    ``below`` (a village on a county board reads 托里镇永集湖村); a code whose name is not known
    reads as its level and code."""
    full = divisions.normalize(code)
    if full == divisions.NATIONAL:
        return "全国"
    if full not in names:
        return f"{divisions.level(full).label_zh} {full}"
    chain = []
    for a in divisions.ancestors(full):
        if below is not None and a == divisions.normalize(below):
            break
        chain.append(names.get(a, a))
    return "".join(reversed(chain)) if below is not None else names[full]
