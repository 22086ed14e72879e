"""Issuing receipts (:mod:`shared.events.receipt`): one event of this service's log with its
inclusion proof and the newest signed checkpoint that covers it, co-signed by the witnesses that
have co-signed it.

Guarantees:

1. The checkpoint is one this service signed (its ``checkpoints`` table) with size ≥ the event's
   seq; among them the newest one the witnesses co-signed is preferred, else the newest one.
2. Every cosignature put in is verified first against the witness's cosigner key; a witness that
   does not answer, or answers with a cosignature that does not verify, is left out (the receipt
   is still valid on the origin's signature) — never a reason to fail.
3. An event not yet covered by a signed checkpoint is a 503 with ``Retry-After`` (the checkpoint
   interval); the receipt is the same bytes :func:`shared.events.receipt.verify` checks.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from fastapi import Request
from fastapi.responses import Response
from pydantic import Field

from shared.config import SERVICES
from shared.db import raw_connection
from shared.errors import NotFound, ServiceUnavailable
from shared.events import checkpoints, receipt, tree
from shared.events.chain import canonical_json
from shared.events.note import NoteError, Verifier, add_signatures, split_note, verify_cosignature
from shared.events.feed import EventEnvelope
from shared.events.store import record_to_event
from shared.logging import get_logger
from shared.web.answers import Answer

log = get_logger("fupin.receipts")
WITNESS_TIMEOUT = 5.0


class PublicEventOut(Answer):
    """The event as anyone may see it: personal numbers masked."""

    source: str
    seq: int
    type: str
    subject: str
    time: str
    data: dict[str, Any]


class InclusionProofOut(Answer):
    leaf_index: int = Field(description="seq − 1")
    tree_size: int = Field(description="the checkpoint's size")
    hashes: list[str] = Field(description="the audit path, base64")


class ReceiptOut(Answer):
    """A receipt file (:func:`shared.events.receipt.build`): verify it offline with
    ``fupin verify-receipt FILE --key …``."""

    format: Literal[receipt.FORMAT]  # type: ignore[valid-type]
    for_: str = Field(alias="for", description="who the receipt is for")
    public: PublicEventOut
    event: EventEnvelope = Field(description="the event exactly as it was hashed (may hold personal data)")
    proof: InclusionProofOut
    checkpoint: str = Field(description="the signed checkpoint note, with any witnesses' cosignatures")
    keys: list[str] = Field(description="the signers' verifier keys, the origin's first")


#: the ``responses`` of a route that answers :func:`issue` (declare it with ``response_class=Response``)
ANSWERS: dict[int | str, dict[str, Any]] = {200: {"model": ReceiptOut},
                                            503: {"description": "retry after Retry-After"}}


async def _cosignatures(http: httpx.AsyncClient, base_url: str, origin: str, size: int | None) -> tuple[int, str, str] | None:
    """(size, cosignature line, cosigner key) of one witness at ``size`` (None: its newest)."""
    try:
        key = (await http.get(f"{base_url}/witness", timeout=WITNESS_TIMEOUT)).json()["cosigner_key"]
        response = await http.get(f"{base_url}/witness/checkpoint", params={"origin": origin, **(
            {"size": size} if size else {})}, timeout=WITNESS_TIMEOUT)
        if response.status_code != 200:
            return None
        note, cosigner = response.text, Verifier.from_key_string(key)
        verify_cosignature(note, cosigner)
        text, lines = split_note(note)
        line = next(s.line() for s in lines if (s.name, s.key_id) == (cosigner.name, cosigner.key_id))
        return int(text.split("\n")[1]), line, key
    except (httpx.HTTPError, NoteError, KeyError, ValueError, StopIteration) as exc:
        log.warning("witness left out of a receipt", witness=base_url, error=repr(exc))
        return None


async def issue(request: Request, session, seq: int) -> Response:
    """The receipt of event ``seq`` of this service's log, as the JSON file (guarantees 1–3)."""
    app = request.app
    settings, signer = app.state.settings, app.state.log_signer
    http = getattr(app.state, "receipt_http", None) or httpx.AsyncClient()
    witnesses = [settings.peer_url(s).rstrip("/") for s in SERVICES if s != settings.service]
    try:
        newest = await asyncio.gather(*(_cosignatures(http, w, signer.name, None) for w in witnesses))
        async with raw_connection(session) as conn:
            row = await conn.fetchrow("SELECT * FROM events WHERE seq = $1", seq)
            if row is None:
                raise NotFound(f"no event {seq} in the log")
            chosen = await _checkpoint(conn, seq, sorted({c[0] for c in newest if c and c[0] >= seq}, reverse=True))
            if chosen is None:
                raise ServiceUnavailable(
                    f"事件尚未纳入已签名的检查点 (event {seq} is not yet covered by a signed checkpoint); retry later",
                    headers={"Retry-After": str(int(settings.checkpoint_every_seconds) + 1)})
            proof = await tree.inclusion(conn, seq - 1, chosen["size"])
        at_size = await asyncio.gather(*(_cosignatures(http, w, signer.name, chosen["size"]) for w in witnesses))
    finally:
        if http is not getattr(app.state, "receipt_http", None):
            await http.aclose()
    cosigned = [c for c in at_size if c and c[0] == chosen["size"]]
    note = add_signatures(chosen["note"], [line for _, line, _ in cosigned]) if cosigned else chosen["note"]
    body = receipt.build(record_to_event(row), tree_size=chosen["size"], proof=proof.hashes, checkpoint=note,
                         keys=[signer.verifier_key(), *(key for _, _, key in cosigned)])
    return Response(receipt.dumps(body), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="receipt-{settings.service}-{seq}.json"'})


async def _checkpoint(conn, seq: int, cosigned_sizes: list[int]) -> dict[str, Any] | None:
    for size in cosigned_sizes:
        signed = await checkpoints.at_size(conn, size)
        if signed is not None:
            return signed
    newest = await checkpoints.latest(conn)
    return newest if newest is not None and newest["size"] >= seq else None


async def event_seq(session, *, subject: str, type: str, **data: str) -> int:
    """The seq of the (first) event of ``type`` about ``subject`` whose data has these text values."""
    async with raw_connection(session) as conn:
        seq = await conn.fetchval(
            "SELECT seq FROM events WHERE subject = $1 AND type = $2 AND data::jsonb @> $3::jsonb ORDER BY seq LIMIT 1",
            subject, type, canonical_json(data))
    if seq is None:
        raise NotFound(f"没有该记录的事件 (no {type} event for {subject})")
    return seq
