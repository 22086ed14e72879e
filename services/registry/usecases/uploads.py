"""Use cases of uploads: the roll import with its duplicate screening, the import history, and
idempotency by content.

Guarantees:

1. **One file, one import.** The SHA-256 of the file's bytes is recorded with each import; the
   same content uploaded again by the same division for the same kind, after it was imported,
   returns the first import's result (``replayed: true``) and writes nothing.
2. **Every upload has a result in the history** (``imports``): an imported file in the same
   transaction as its rows and events; a refused one (the whole file validated first, nothing of
   it written) in a transaction of its own after the import's has been rolled back, with the
   number of errors and the first :data:`KEPT_ERRORS` of them (ID numbers masked, as in the
   answer). Each record is an event: ``registry.import.recorded``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Awaitable, Callable

import uuid6
from sqlalchemy import select

from services.registry import files
from services.registry.usecases import duplicates
from services.registry.county_models import ImportRecord
from services.registry.usecases.imports import run_import
from shared import divisions
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.events import NewEvent, append

RECORDED = "registry.import.recorded"
KEPT_ERRORS = 50


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encoding_of(filename: str, data: bytes) -> str | None:
    if not filename.lower().endswith(".csv"):
        return None
    try:
        return files.decode_csv(data)[1]
    except Unprocessable:
        return None


async def previous(session, kind: str, division: str, sha256: str) -> ImportRecord | None:
    return (await session.execute(select(ImportRecord).where(
        ImportRecord.kind == kind, ImportRecord.division == division, ImportRecord.sha256 == sha256,
        ImportRecord.status == "imported"))).scalars().first()


async def record(session, principal: Principal, *, import_id: str, kind: str, filename: str, data: bytes,
                 status: str, result: dict[str, Any], clock) -> ImportRecord:
    row = ImportRecord(id=uuid.UUID(import_id), kind=kind, division=principal.division, filename=filename[:200],
                       sha256=content_hash(data), encoding=encoding_of(filename, data), status=status,
                       result=result, actor=principal.actor(), created_at=clock.now())
    session.add(row)
    await append(session, [NewEvent(RECORDED, import_id, {
        "kind": kind, "division": row.division, "filename": row.filename, "sha256": row.sha256,
        "encoding": row.encoding, "status": status, "result": result}, principal.actor())])
    return row


def refusal(problem: Unprocessable) -> dict[str, Any]:
    errors = problem.extensions.get("errors") or []
    return {"detail": problem.detail, "total_errors": problem.extensions.get("total_errors", len(errors)),
            "errors": errors[:KEPT_ERRORS]}


async def once_per_content(session, sessionmaker, principal: Principal, *, kind: str, filename: str, data: bytes,
                           clock, work: Callable[[], Awaitable[tuple[str, dict[str, Any]]]]) -> dict[str, Any]:
    """Run ``work()`` (→ (import id, result)) unless this content was imported before; record the
    result or the refusal in the history."""
    earlier = await previous(session, kind, principal.division, content_hash(data))
    if earlier is not None:
        return {**earlier.result, "import_id": str(earlier.id), "replayed": True}
    try:
        import_id, result = await work()
    except Unprocessable as problem:
        await session.rollback()
        async with sessionmaker() as own, own.begin():
            await record(own, principal, import_id=str(uuid6.uuid7()), kind=kind, filename=filename, data=data,
                         status="refused", result=refusal(problem), clock=clock)
        raise
    await record(session, principal, import_id=import_id, kind=kind, filename=filename, data=data,
                 status="imported", result=result, clock=clock)
    return {**result, "import_id": import_id, "replayed": False}


async def import_roll(session, sessionmaker, principal: Principal, *, filename: str, data: bytes,
                      clock) -> dict[str, Any]:
    async def work() -> tuple[str, dict[str, Any]]:
        result = await run_import(session, data, filename=filename, actor=principal.actor(),
                                  jurisdiction=principal.division, clock=clock)
        flagged = await duplicates.flag_import(session, result.import_id, actor=principal.actor(), clock=clock)
        return result.import_id, {"households": result.households, "persons": result.persons,
                                  "duplicate_candidates": flagged}

    return await once_per_content(session, sessionmaker, principal, kind="roll", filename=filename, data=data,
                                  clock=clock, work=work)


async def history(session, scope: str, *, kind: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(ImportRecord).where(ImportRecord.division.startswith(divisions.prefix(scope)))
    if kind:
        query = query.where(ImportRecord.kind == kind)
    rows = (await session.execute(query.order_by(ImportRecord.created_at.desc(), ImportRecord.id.desc())
                                  .limit(limit))).scalars()
    return [{"import_id": str(r.id), "kind": r.kind, "division": r.division, "filename": r.filename,
             "sha256": r.sha256, "encoding": r.encoding, "status": r.status, "result": r.result,
             "by": r.actor.get("sub"), "at": r.created_at.isoformat()} for r in rows]
