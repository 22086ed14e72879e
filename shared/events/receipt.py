"""Receipts: one event of a log, given to its subject with what proves it is in the log — its
inclusion proof and a signed (and co-signed) checkpoint — in one JSON file that anyone can verify
offline, without trusting the service that issued it. Pure.

The receipt carries the event **exactly as it was hashed**, personal data included (a household's
ID numbers, a payee's account): otherwise its hash could not be recomputed. It is therefore given
to its subject only (the household, the payee), like the record itself; ``public`` is the same
event with personal numbers masked, what may be shown to anyone, and it is checked to be exactly
that mask of the event. Announcements hold nothing unmasked, so their receipts are public.

Guarantees of :func:`verify` (the procedure of the README's "Receipts" section, in this order):

1. The file is the RFC 8785 canonical JSON of its content plus one newline, and every base64
   string in it is canonical: a changed byte cannot leave its meaning unchanged.
2. The event's hash is recomputed from its canonical body (:mod:`shared.events.chain`).
3. Leaf hash = SHA-256(0x00 || the 32-byte event hash), leaf index = seq − 1
   (:mod:`shared.events.merkle` guarantee 2).
4. The inclusion proof leads from the leaf to the checkpoint's root at the checkpoint's size.
5. The checkpoint is signed by its origin (the service whose log it is), every signature line of
   it verifies with one of the keys, and every key the receipt lists verified a signature; the
   keys are the receipt's own unless the verifier is given the published ones (``keys_trusted``).
6. ``public`` is exactly the mask of the event, and ``format`` and ``for`` are this version's.

Any failure is a :class:`ReceiptError` naming the step.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from shared.announcements.domain import mask_public
from shared.events.chain import canonical_json, compute_hash
from shared.events.merkle import ProofError, event_leaf, verify_inclusion
from shared.events.note import ED25519, Checkpoint, NoteError, Verifier, split_note, verify_cosignature

FORMAT = "fupin-receipt/1"
FOR = ("Given to the subject of this record only: `event` is the record exactly as it was hashed "
       "and may hold personal data; `public` is what may be shown to others.")
#: The envelope fields shown in ``public`` (the rest are links of the chain).
PUBLIC_FIELDS = ("source", "seq", "type", "subject", "time", "data")


class ReceiptError(ValueError):
    """A receipt that does not verify; ``step`` is the step of the procedure that failed."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step, self.reason = step, reason


def public_part(event: Mapping[str, Any]) -> dict[str, Any]:
    """What of the event may be shown to anyone: personal numbers masked."""
    return mask_public({field: event[field] for field in PUBLIC_FIELDS})


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def build(event: Mapping[str, Any], *, tree_size: int, proof: Sequence[bytes], checkpoint: str,
          keys: Sequence[str]) -> dict[str, Any]:
    """A receipt for ``event``: its inclusion ``proof`` in the tree of ``tree_size`` events, the
    signed ``checkpoint`` note of that size (with any cosignatures), and the verifier ``keys`` of
    its signers (the origin's first)."""
    return {
        "format": FORMAT, "for": FOR, "public": public_part(event), "event": dict(event),
        "proof": {"leaf_index": event["seq"] - 1, "tree_size": tree_size, "hashes": [_b64(h) for h in proof]},
        "checkpoint": checkpoint, "keys": list(keys),
    }


def dumps(receipt: Mapping[str, Any]) -> bytes:
    """The receipt file: canonical JSON and a newline (guarantee 1)."""
    return canonical_json(dict(receipt)).encode() + b"\n"


@dataclass(frozen=True)
class Verified:
    service: str
    seq: int
    type: str
    subject: str
    origin: str
    tree_size: int
    cosigners: list[str]
    keys_trusted: bool


def _canonical_b64(step: str, text: Any, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ReceiptError(step, "not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ReceiptError(step, "malformed base64") from exc
    if _b64(raw) != text or (size is not None and len(raw) != size):
        raise ReceiptError(step, "not the canonical base64 of a hash")
    return raw


def _parse(data: bytes) -> dict[str, Any]:
    try:
        receipt = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("file", f"not JSON: {exc}") from exc
    if not isinstance(receipt, dict) or set(receipt) != {"format", "for", "public", "event", "proof",
                                                         "checkpoint", "keys"}:
        raise ReceiptError("file", "not a receipt (format, for, public, event, proof, checkpoint, keys)")
    if receipt["format"] != FORMAT or receipt["for"] != FOR:
        raise ReceiptError("file", f"not a {FORMAT} receipt")
    if dumps(receipt) != data:
        raise ReceiptError("file", "not in canonical form (RFC 8785 JSON and one newline): altered")
    return receipt


def _event_hash(event: Any) -> bytes:
    try:
        recomputed = compute_hash(event)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReceiptError("event", f"not an event envelope: {exc!r}") from exc
    if recomputed != event.get("hash"):
        raise ReceiptError("event", "the event's hash is not the hash of its content (altered)")
    return bytes.fromhex(recomputed)


def _keys(listed: Any, given: Sequence[Verifier] | None) -> list[Verifier]:
    if not isinstance(listed, list) or not listed:
        raise ReceiptError("keys", "no keys listed")
    own = []
    for vkey in listed:
        try:
            verifier = Verifier.from_key_string(vkey)
        except (NoteError, AttributeError) as exc:
            raise ReceiptError("keys", f"{vkey!r}: {exc}") from exc
        if verifier.key_string() != vkey:
            raise ReceiptError("keys", f"{vkey!r} is not in canonical form")
        own.append(verifier)
    if given is None:
        return own
    trusted = {(v.name, v.key_id) for v in given}
    strangers = [v.key_string() for v in own if (v.name, v.key_id) not in trusted]
    if strangers:
        raise ReceiptError("keys", f"signed with keys that are not the published ones: {', '.join(strangers)}")
    return own


def _checkpoint(note: Any, verifiers: list[Verifier]) -> tuple[Checkpoint, list[str]]:
    """The checkpoint, its origin signature and every cosignature checked (guarantee 5)."""
    if not isinstance(note, str):
        raise ReceiptError("checkpoint", "not a signed note")
    try:
        text, lines = split_note(note)
        if text + "\n" + "".join(line.line() for line in lines) != note:
            raise ReceiptError("checkpoint", "signature lines are not in canonical form")
        checkpoint = Checkpoint.parse(text)
        by_slot = {(v.name, v.key_id): v for v in verifiers}
        used, cosigners = set(), []
        for line in lines:
            verifier = by_slot.get((line.name, line.key_id))
            if verifier is None:
                raise ReceiptError("checkpoint", f"a signature by {line.name} with none of the keys")
            if verifier.sig_type == ED25519:
                verifier.verify(text.encode(), line.signature)
            else:
                verify_cosignature(text + "\n" + line.line(), verifier)
                cosigners.append(verifier.name)
            used.add((verifier.name, verifier.key_id))
    except NoteError as exc:
        raise ReceiptError("checkpoint", str(exc)) from exc
    if not any(v.sig_type == ED25519 and v.name == checkpoint.origin and (v.name, v.key_id) in used
               for v in verifiers):
        raise ReceiptError("checkpoint", f"not signed by its origin {checkpoint.origin}")
    unused = [v.key_string() for v in verifiers if (v.name, v.key_id) not in used]
    if unused:
        raise ReceiptError("keys", f"listed keys that signed nothing: {', '.join(unused)}")
    return checkpoint, cosigners


def verify(data: bytes, keys: Sequence[Verifier] | None = None) -> Verified:
    """Verify a receipt file offline (guarantees 1–6). ``keys``: the published verifier keys to
    trust (the origin's and its witnesses'); None: the receipt's own keys (self-consistency only:
    compare them with the published ones)."""
    receipt = _parse(data)
    event = receipt["event"]
    leaf = event_leaf(_event_hash(event).hex())
    proof = receipt["proof"]
    if not isinstance(proof, dict) or set(proof) != {"leaf_index", "tree_size", "hashes"}:
        raise ReceiptError("proof", "leaf_index, tree_size and hashes expected")
    if proof["leaf_index"] != event["seq"] - 1:
        raise ReceiptError("proof", f"leaf index {proof['leaf_index']} is not seq {event['seq']} − 1")
    checkpoint, cosigners = _checkpoint(receipt["checkpoint"], _keys(receipt["keys"], keys))
    if proof["tree_size"] != checkpoint.size:
        raise ReceiptError("proof", f"proof for size {proof['tree_size']}, checkpoint of size {checkpoint.size}")
    hashes = [_canonical_b64("proof", h, 32) for h in proof["hashes"]] if isinstance(proof["hashes"], list) else None
    if hashes is None:
        raise ReceiptError("proof", "hashes must be a list")
    try:
        verify_inclusion(leaf, proof["leaf_index"], checkpoint.size, hashes, checkpoint.root_hash)
    except ProofError as exc:
        raise ReceiptError("inclusion", str(exc)) from exc
    if receipt["public"] != public_part(event):
        raise ReceiptError("public", "the public part is not the masked event")
    return Verified(event["source"], event["seq"], event["type"], event["subject"], checkpoint.origin,
                    checkpoint.size, cosigners, keys is not None)

