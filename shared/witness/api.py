"""The witness's public API: what it co-signed, the co-signed checkpoints, and its alarms with
their evidence. Public like the checkpoints themselves: anyone may check a log against them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.fields import BIGINT_MAX
from shared.errors import NotFound
from shared.events.note import add_signatures
from shared.web.idempotency import Session
from shared.web.pagination import Page, Paging

witness = APIRouter(prefix="/witness", tags=["witness (见证)"])

ORIGIN = Query(..., min_length=1, max_length=200, description="the log's origin, e.g. fupin.example/dev/funds")


class Cosignature(BaseModel):
    origin: str
    size: int
    root_hash: str = Field(description="base64, as in the checkpoint")
    cosignature: str = Field(description="this witness's C2SP tlog-cosignature/v1 signature line")
    cosigned_at: datetime


class WitnessAlarm(BaseModel):
    id: int
    origin: str
    kind: str = Field(description="fork | inconsistent | truncated")
    detail: str
    held_size: int
    held_checkpoint: str = Field(description="evidence: the origin's signed checkpoint this witness co-signed")
    received_size: int | None = Field(description="the contradicting checkpoint's size (truncated: the log's last seq)")
    received_checkpoint: str | None = Field(description="evidence: the origin's signed checkpoint that contradicts it")
    raised_at: datetime


class WitnessKey(BaseModel):
    name: str
    cosigner_key: str = Field(description="verifier key of this witness's cosignatures (type 0x04)")


@witness.get("", response_model=WitnessKey, summary="This witness's name and cosigner key",
             description="The verifier key (C2SP signed-note, type 0x04) that checks this service's cosignatures "
             "of the other services' checkpoints: pass it to `fupin verify-receipt --key`.")
async def witness_key(request: Request) -> dict:
    signer = request.app.state.log_signer  # a witness cosigns with its log key (type 0x04)
    return {"name": signer.name, "cosigner_key": signer.cosigner_verifier().key_string()}


@witness.get("/cosignatures", response_model=Page[Cosignature], summary="Checkpoints of a log this witness co-signed",
             description="In size order; each was co-signed only after a consistency proof from the previous one.")
async def list_cosignatures(page: Paging, session: Session, origin: str = ORIGIN) -> Page:
    rows = (await session.execute(text(
        "SELECT origin, size, root_hash, cosignature, cosigned_at FROM witness_cosignatures WHERE origin = :origin "
        "AND size > :after ORDER BY size LIMIT :limit"),
        {"origin": origin, "after": page.after(int) or 0, "limit": page.limit + 1})).mappings().all()
    return page.page([dict(r) for r in rows], lambda item: [item["size"]])


@witness.get("/checkpoint", response_class=PlainTextResponse, summary="A co-signed checkpoint (signed note)",
             description="The origin's signed checkpoint with this witness's cosignature line appended "
             "(C2SP signed-note): the newest one co-signed, or the one of `size`.",
             responses={200: {"content": {"text/plain": {}}}, 404: {"description": "nothing co-signed"}})
async def cosigned_checkpoint(session: Session, origin: str = ORIGIN,
                              size: int | None = Query(None, ge=1, le=BIGINT_MAX)) -> PlainTextResponse:
    row = (await session.execute(text(
        "SELECT checkpoint, cosignature FROM witness_cosignatures WHERE origin = :origin "
        "AND (CAST(:size AS BIGINT) IS NULL OR size = :size) ORDER BY size DESC LIMIT 1"),
        {"origin": origin, "size": size})).first()
    if row is None:
        raise NotFound(f"见证方未联署该日志的检查点 (no checkpoint of {origin} co-signed"
                       f"{f' at size {size}' if size else ''})")
    return PlainTextResponse(add_signatures(row.checkpoint, [row.cosignature]))


@witness.get("/alarms", response_model=Page[WitnessAlarm], summary="Alarms this witness raised, with their evidence",
             description="A fork (two signed roots for one size), a checkpoint inconsistent with one co-signed, "
             "or a log cut below a co-signed size — each with both signed checkpoints as evidence.")
async def list_alarms(page: Paging, session: Session, origin: str | None = Query(None, max_length=200)) -> Page:
    rows = (await session.execute(text(
        "SELECT * FROM witness_alarms WHERE (CAST(:origin AS TEXT) IS NULL OR origin = :origin) AND id > :after "
        "ORDER BY id LIMIT :limit"),
        {"origin": origin, "after": page.after(int) or 0, "limit": page.limit + 1})).mappings().all()
    return page.page([dict(r) for r in rows], lambda item: [item["id"]])


async def alarm_summary(engine) -> str | None:
    """What ``/readyz`` says while this witness holds alarms (None: none)."""
    async with engine.connect() as conn:
        count, detail = (await conn.execute(text(
            "SELECT count(*), (SELECT origin || ': ' || detail FROM witness_alarms ORDER BY id DESC LIMIT 1) "
            "FROM witness_alarms"))).one()
    return f"{count} alarm(s), latest {detail}" if count else None
