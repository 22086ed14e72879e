"""Signed notes, checkpoints and cosignatures, pure: C2SP signed-note, tlog-checkpoint and
tlog-cosignature/v1 with Ed25519 (``cryptography``).

Guarantees:

1. A note is ``text`` (non-empty lines, ending in a newline), a blank line, and signature lines
   ``— <name> base64(key ID || signature)``; key ID = SHA-256(name || 0x0A || type || public
   key)[:4] with type 0x01 for Ed25519 note signatures and 0x04 for timestamped cosignatures.
   A verifier key is ``<name>+<hex key ID>+base64(type || public key)``; a private key string is
   golang.org/x/mod/sumdb/note's ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)``.
2. :func:`open_note` follows C2SP signed-note: signatures of unknown (name, key ID) are ignored;
   a known key's signature must verify or the whole note is refused; a note with no verified
   signature is refused; a malformed note is refused. Every refusal is a :class:`NoteError`.
3. A :class:`Checkpoint` body is origin, decimal size, base64 root hash, optional extension lines
   (C2SP tlog-checkpoint); :meth:`Checkpoint.parse` accepts exactly what :meth:`body` writes.
4. A cosignature (C2SP tlog-cosignature/v1) signs ``cosignature/v1\\ntime <unix>\\n`` + the
   checkpoint body; its signature bytes are key ID || timestamp (u64 big-endian) || Ed25519 sig.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
#: Go's note package refuses notes with more signatures than this.
MAX_SIGNATURES = 100
_DASH = "\u2014 "
_HEX8 = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A note, key or checkpoint that is malformed or does not verify; the message says why."""


def _b64decode(text: str) -> bytes:
    """Strict base64: only the canonical spelling of the bytes is accepted, so that no character
    of a note (not even one carrying a padding character's unused bits) can change unnoticed."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("malformed base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise NoteError("non-canonical base64")
    return raw


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one (name, key ID): type 0x01 (note signature) or
    0x04 (cosignature/v1)."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    def key_string(self) -> str:
        return (f"{self.name}+{self.key_id.hex()}+"
                f"{base64.b64encode(bytes([self.sig_type]) + self.public_key).decode()}")

    @classmethod
    def from_key_string(cls, vkey: str) -> "Verifier":
        parts = vkey.split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]) or not _HEX8.fullmatch(parts[1]):
            raise NoteError("malformed verifier key")
        raw = _b64decode(parts[2])
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("malformed verifier key")
        verifier = cls(parts[0], raw[0], raw[1:])
        if verifier.key_id.hex() != parts[1]:
            raise NoteError("verifier key ID does not match its key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> int | None:
        """Checks ``signature`` (without the key ID) over the note text ``text``. Returns the
        cosignature's timestamp (0x04) or None (0x01); raises :class:`NoteError`."""
        message, timestamp = text, None
        if self.sig_type == COSIGNATURE_V1:
            if len(signature) != 72:
                raise NoteError(f"invalid signature for key {self.name}+{self.key_id.hex()}")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            message, signature = cosigned_message(text.decode(), timestamp), signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError) as exc:
            raise NoteError(f"invalid signature for key {self.name}+{self.key_id.hex()}") from exc
        return timestamp


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key under a name (a log's origin, or a witness's name)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}: empty, or has a space or '+'")

    @classmethod
    def generate(cls, name: str) -> "Signer":
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, seed: bytes) -> "Signer":
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_key_string(cls, skey: str) -> "Signer":
        """golang.org/x/mod/sumdb/note's ``PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX8.fullmatch(parts[3]):
            raise NoteError("malformed private key")
        raw = _b64decode(parts[4])
        if len(raw) != 33 or raw[0] != ED25519 or not _valid_name(parts[2]):
            raise NoteError("malformed private key")
        signer = cls.from_private_bytes(parts[2], raw[1:])
        if signer.key_id.hex() != parts[3]:
            raise NoteError("private key ID does not match its key")
        return signer

    def key_string(self) -> str:
        """The private key string (secret: keep it in a file readable by the service only)."""
        seed = self.private_key.private_bytes_raw()
        return (f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+"
                f"{base64.b64encode(bytes([ED25519]) + seed).decode()}")

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, ED25519, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, ED25519, self.public_key)

    def cosigner_verifier(self) -> Verifier:
        """The same key as a cosigner (type 0x04): a separate key ID, per C2SP."""
        return Verifier(self.name, COSIGNATURE_V1, self.public_key)

    def verifier_key(self) -> str:
        return self.verifier().key_string()

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def _signature_line(name: str, raw: bytes) -> str:
    return f"{_DASH}{name} {base64.b64encode(raw).decode()}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or text == "\n":
        raise NoteError("malformed note: the text must be non-empty and end in a newline")
    if any(ch < " " and ch != "\n" for ch in text):
        raise NoteError("malformed note: control character in the text")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """The note ``text`` signed by each of ``signers`` (Ed25519 note signatures)."""
    _check_text(text)
    if not signers:
        raise NoteError("a note needs at least one signer")
    lines = "".join(_signature_line(s.name, s.key_id + s.sign(text.encode())) for s in signers)
    return f"{text}\n{lines}"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return _signature_line(self.name, self.key_id + self.signature)


def split_note(note: str | bytes) -> tuple[str, list[SignatureLine]]:
    """The text and the signature lines of a note, parsed but not verified."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("malformed note: not UTF-8") from exc
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = note[: cut + 1], note[cut + 2:]
    _check_text(text)
    out = []
    for line in sigs[:-1].split("\n") if sigs else ():
        if not line.startswith(_DASH):
            raise NoteError(f"malformed note: not a signature line: {line[:40]!r}")
        name, _, b64 = line[len(_DASH):].partition(" ")
        raw = _b64decode(b64)
        if not _valid_name(name) or len(raw) < 5:
            raise NoteError("malformed note: bad signature line")
        out.append(SignatureLine(name, raw[:4], raw[4:]))
    if not out or len(out) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: {len(out)} signatures (1 to {MAX_SIGNATURES} allowed)")
    return text, out


def _known(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier | None]:
    known: dict[tuple[str, bytes], Verifier | None] = {}
    for v in verifiers:
        slot = (v.name, v.key_id)
        known[slot] = None if slot in known else v  # None: ambiguous (listed twice, as in Go)
    return known


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """The text of ``note`` and the names whose signatures verified (C2SP rules, guarantee 2)."""
    text, sigs = split_note(note)
    known = _known(verifiers)
    verified: list[str] = []
    for sig in sigs:
        slot = (sig.name, sig.key_id)
        if slot not in known:
            continue
        verifier = known[slot]
        if verifier is None:
            raise NoteError(f"ambiguous key {sig.name}+{sig.key_id.hex()}")
        verifier.verify(text.encode(), sig.signature)
        if sig.name not in verified:
            verified.append(sig.name)
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return text, verified


# --- checkpoints (C2SP tlog-checkpoint) ------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        """A checkpoint from its note text (or a whole signed note: the signatures are ignored
        here; :func:`open_note` checks them)."""
        if "\n\n" in text:
            text = split_note(text)[0]
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise NoteError("malformed checkpoint: three or more non-empty lines")
        origin, size, root_b64, *extensions = lines
        if not re.fullmatch(r"0|[1-9][0-9]*", size):
            raise NoteError("malformed checkpoint: origin, then the tree size in decimal")
        root_hash = _b64decode(root_b64)
        if len(root_hash) != 32:
            raise NoteError("malformed checkpoint: the root hash must be 32 bytes in base64")
        return cls(origin, int(size), root_hash, tuple(extensions))


def open_checkpoint(note: str, verifiers: Iterable[Verifier]) -> Checkpoint:
    """A signed checkpoint, verified (:func:`open_note`) and parsed."""
    text, _ = open_note(note, verifiers)
    return Checkpoint.parse(text)


# --- cosignatures (C2SP tlog-cosignature/v1) -------------------------------------------------

def cosigned_message(checkpoint_body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_body}".encode()


def cosign(checkpoint_note: str, witness: Signer, timestamp: int) -> str:
    """The witness's cosignature line for the checkpoint (its body; any signatures ignored)."""
    if not 0 <= timestamp < 2**63:
        raise NoteError("cosignature timestamp out of range")
    body = split_note(checkpoint_note)[0] if "\n\n" in checkpoint_note else checkpoint_note
    _check_text(body)
    sig = witness.sign(cosigned_message(body, timestamp))
    return _signature_line(witness.name, witness.cosigner_verifier().key_id + struct.pack(">Q", timestamp) + sig)


def verify_cosignature(checkpoint_note: str, cosigner: Verifier) -> int:
    """The timestamp of ``cosigner``'s valid cosignature on the note; :class:`NoteError` if it has
    none or it does not verify."""
    if cosigner.sig_type != COSIGNATURE_V1:
        raise NoteError("not a cosigner key (signature type 0x04)")
    text, sigs = split_note(checkpoint_note)
    for sig in sigs:
        if (sig.name, sig.key_id) == (cosigner.name, cosigner.key_id):
            timestamp = cosigner.verify(text.encode(), sig.signature)
            assert timestamp is not None
            return timestamp
    raise NoteError(f"no cosignature by {cosigner.name}+{cosigner.key_id.hex()}")


def add_signatures(note: str, lines: Sequence[str]) -> str:
    """The note with further signature lines (e.g. cosignatures) appended, duplicates dropped."""
    text, sigs = split_note(note)
    present = [s.line() for s in sigs]
    return text + "\n" + "".join(present + [line for line in lines if line not in present])
