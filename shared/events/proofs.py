"""The verifiable-history API every service serves: signed checkpoints, inclusion and consistency
proofs, and the public keys that verify them.

Open to anyone: these answers carry hashes, sizes and signatures, never an event's content, and
are what an auditor, a newspaper or a villager keeps to hold the service to its log. Hashes are
standard base64 (as in C2SP checkpoints); verify a proof with
:func:`shared.events.merkle.verify_inclusion` / :func:`~shared.events.merkle.verify_consistency`
(RFC 9162 §2.1.3.2 / §2.1.4.2). The leaf of event ``seq`` is index ``seq - 1``, and its leaf data
is the event's 32-byte chain hash.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from shared.fields import BIGINT_MAX
from shared.db import raw_connection
from shared.errors import NotFound, ServiceUnavailable, Unprocessable
from shared.events import checkpoints as store
from shared.events import tree
from shared.web.idempotency import Session
from shared.web.pagination import Page, Paging

router = APIRouter(tags=["verifiable history"])


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class SignedCheckpoint(BaseModel):
    origin: str = Field(description="the log's identity: <deployment prefix>/<service>")
    size: int = Field(description="tree size: the checkpoint covers events 1..size")
    root_hash: str = Field(description="RFC 9162 Merkle tree root, base64")
    key_id: str = Field(description="hex key ID of the signing key (see /.well-known/fupin-keys)")
    signed_at: datetime
    note: str = Field(description="the checkpoint as a C2SP signed note (tlog-checkpoint): keep this text")


class InclusionProofOut(BaseModel):
    seq: int
    leaf_index: int = Field(description="seq - 1")
    tree_size: int
    event_hash: str | None = Field(description="the event's chain hash (hex) as the log holds it now: the leaf data")
    leaf_hash: str = Field(description="SHA-256(0x00 || event hash bytes), base64")
    root_hash: str = Field(description="root of the tree of tree_size leaves, base64")
    hashes: list[str] = Field(description="the audit path, lowest level first, base64 (RFC 9162 §2.1.3)")
    checkpoint: str | None = Field(description="the signed checkpoint of tree_size, when one was signed")


class ConsistencyProofOut(BaseModel):
    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    from_root: str
    to_root: str
    hashes: list[str] = Field(description="the consistency proof, base64 (RFC 9162 §2.1.4)")
    from_checkpoint: str | None
    to_checkpoint: str | None

    model_config = {"populate_by_name": True}


class LogKeys(BaseModel):
    service: str
    origin: str
    log: list[str] = Field(description="verifier keys (C2SP signed-note vkeys) of the log's checkpoints")


def _checkpoint_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "root_hash": b64(row["root_hash"])}


def _invalid(field: str, reason: str) -> Unprocessable:
    return Unprocessable(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


async def _check_size(conn, field: str, size: int) -> None:
    """A size the tree can answer for: 422 beyond the log, 503 while the tree catches up."""
    tree_size = await tree.tree_size(conn)
    if size <= tree_size:
        return
    log_size = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
    if size > log_size:
        raise _invalid(field, f"beyond the log: it holds {log_size} events")
    raise ServiceUnavailable(f"the Merkle tree holds {tree_size} of {log_size} events; retry shortly",
                             headers={"Retry-After": "1"})


@router.get("/checkpoints/latest", response_model=SignedCheckpoint,
            summary="The newest signed checkpoint of the service's log",
            responses={200: {"content": {"text/plain": {}}}, 404: {"description": "nothing signed yet"}})
async def latest_checkpoint(
    session: Session,
    format: Literal["json", "note"] = Query("json", description="`note`: the signed note alone, as text/plain"),
) -> Any:
    """The newest checkpoint (C2SP tlog-checkpoint, Ed25519-signed): origin, tree size, root hash."""
    async with raw_connection(session) as conn:
        row = await store.latest(conn)
    if row is None:
        raise NotFound("no checkpoint has been signed yet")
    return PlainTextResponse(row["note"]) if format == "note" else _checkpoint_out(row)


@router.get("/checkpoints", response_model=Page[SignedCheckpoint],
            summary="Every signed checkpoint, oldest first (paged)")
async def list_checkpoints(params: Paging, session: Session) -> Any:
    """Signed checkpoints in size order; pass `next_cursor` as `cursor` for the next page."""
    async with raw_connection(session) as conn:
        rows = await store.page(conn, params.after(int) or 0, params.limit + 1)
    return params.page([_checkpoint_out(r) for r in rows], lambda r: [r["size"]])


_CONSISTENCY_FACTS = (
    "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 0) AS tree_size, "
    "(SELECT max(size) FROM checkpoints) AS latest_size, "
    "(SELECT note FROM checkpoints WHERE size = $1) AS from_note, "
    "(SELECT note FROM checkpoints WHERE size = coalesce($2::bigint, (SELECT max(size) FROM checkpoints))) AS to_note"
)


@router.get("/checkpoints/proof", response_model=ConsistencyProofOut, response_model_by_alias=True,
            summary="Consistency proof: the tree of `to` events extends the tree of `from` events",
            responses={422: {"description": "from > to, or a size beyond the log"},
                       503: {"description": "the tree is still catching up with the log"}})
async def consistency_proof(
    session: Session,
    from_size: int = Query(..., alias="from", ge=1, le=BIGINT_MAX, description="the older tree size (a checkpoint you hold)"),
    to_size: int | None = Query(None, alias="to", ge=1, le=BIGINT_MAX,
                                description="the newer size; default the latest checkpoint"),
) -> Any:
    """RFC 9162 §2.1.4 proof that every event of the older tree is unchanged in the newer one."""
    async with raw_connection(session) as conn:
        facts = await conn.fetchrow(_CONSISTENCY_FACTS, from_size, to_size)
        to_size = to_size or facts["latest_size"] or facts["tree_size"]
        if from_size > to_size:
            raise _invalid("query.from", f"larger than to ({to_size})")
        if to_size > facts["tree_size"]:
            await _check_size(conn, "query.to", to_size)
        proof = await tree.consistency(conn, from_size, to_size)
    return {"from_size": from_size, "to_size": to_size, "from_root": b64(proof.first_root),
            "to_root": b64(proof.second_root), "hashes": [b64(h) for h in proof.hashes],
            "from_checkpoint": facts["from_note"],
            "to_checkpoint": facts["to_note"]}


_INCLUSION_FACTS = (
    "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 0) AS tree_size, "
    "(SELECT hash FROM events WHERE seq = $1) AS event_hash, "
    "(SELECT note FROM checkpoints WHERE size = $2) AS note, "
    "(SELECT row(size, note) FROM checkpoints ORDER BY size DESC LIMIT 1) AS latest"
)


@router.get("/events/{seq}/proof", response_model=InclusionProofOut,
            summary="Inclusion proof: event `seq` is in the tree of `size` events",
            responses={422: {"description": "seq beyond size, or size beyond the log"},
                       503: {"description": "the tree is still catching up with the log"}})
async def inclusion_proof(
    session: Session,
    seq: int = Path(..., ge=1, le=BIGINT_MAX),
    size: int | None = Query(None, ge=1, le=BIGINT_MAX, description="tree size; default the latest checkpoint (or the "
                             "whole tree when seq is newer)"),
) -> Any:
    """RFC 9162 §2.1.3 audit path from event `seq` to the root of the tree of `size` events, with the
    signed checkpoint of that size when there is one. Two queries: the facts, then the nodes."""
    async with raw_connection(session) as conn:
        facts = await conn.fetchrow(_INCLUSION_FACTS, seq, size)
        note = facts["note"]
        if size is None:
            latest = facts["latest"]
            size, note = (latest[0], latest[1]) if latest and seq <= latest[0] else (facts["tree_size"], None)
        if seq > size:
            await _check_size(conn, "path.seq", seq)
            raise _invalid("path.seq", f"beyond the tree size {size}")
        if size > facts["tree_size"]:
            await _check_size(conn, "query.size", size)
        proof = await tree.inclusion(conn, seq - 1, size)
    return {"seq": seq, "leaf_index": seq - 1, "tree_size": size, "event_hash": facts["event_hash"],
            "leaf_hash": b64(proof.leaf_hash), "root_hash": b64(proof.root_hash),
            "hashes": [b64(h) for h in proof.hashes], "checkpoint": note}


@router.get("/.well-known/fupin-keys", response_model=LogKeys, summary="The public keys of the service's log")
async def log_keys(request: Request) -> Any:
    """Verifier keys (C2SP signed-note format) of the checkpoints this service signs."""
    signer = request.app.state.log_signer
    return {"service": request.app.state.settings.service, "origin": signer.name, "log": [signer.verifier_key()]}
