"""The audit export: one JSONL file per service and a manifest (``fupin audit export --out DIR``).

Layout of DIR::

    manifest.json      {"format", "created_at", "source", "services": {service: {file, events,
                        last_seq, last_hash, sha256}}}
    registry.jsonl     one event per line, in seq order
    funds.jsonl …

Each line is the RFC 8785 canonical JSON of the whole event envelope (``hash`` included), so
the verifier can hash the line itself (:func:`services.audit.verify.hash_matches`) instead of
re-serialising, and a line can be compared byte for byte across exports. The manifest fixes what
the export holds: a removed last line shows as a gap against ``last_seq``, a removed middle line
as a gap in the chain, any edit as a different file digest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TypedDict

import msgspec

from shared.events.chain import canonical_json

try:  # orjson parses the export 1.5-3x faster than json (bench/audit_replay.py); json is the fallback
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    loads = json.loads

FORMAT = "fupin-audit-export/1"
MANIFEST = "manifest.json"


def file_name(service: str) -> str:
    return f"{service}.jsonl"


def write_service(path: Path, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Write one service's events (in the order given) and return its manifest entry."""
    digest = hashlib.sha256()
    count, last_seq, last_hash = 0, 0, None
    with path.open("wb") as out:
        for event in events:
            line = canonical_json(dict(event)).encode() + b"\n"
            out.write(line)
            digest.update(line)
            count, last_seq, last_hash = count + 1, event["seq"], event["hash"]
    return {"file": path.name, "events": count, "last_seq": last_seq, "last_hash": last_hash,
            "sha256": digest.hexdigest()}


def write_export(out: Path, events: Mapping[str, Iterable[Mapping[str, Any]]], *, source: str,
                 created_at: str) -> dict[str, Any]:
    """Write every service's file and the manifest into ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    services = {service: write_service(out / file_name(service), stream) for service, stream in events.items()}
    manifest = {"format": FORMAT, "created_at": created_at, "source": source, "services": services}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                encoding="utf-8")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{directory / MANIFEST}: not a {FORMAT} manifest")
    return manifest


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def members_reader(members: Iterable[str] | None) -> Callable[[bytes], dict[str, Any]]:
    """A reader of export lines that builds only the top-level ``members`` of each event (None:
    every member, :data:`loads`); the others are parsed as JSON and skipped, not built (msgspec).
    The verifying process reads six
    small members of an event, not its data: a third of the time :data:`loads` takes (bench/RESULTS.md,
    2026-12-05 afternoon).

    A line it cannot read so — not JSON, not an object, one of ``members`` missing — is read whole
    by :data:`loads`, so it reads, or fails, exactly as it would have. One difference: text inside a
    *skipped* member is not checked to be UTF-8. Its bytes are still hashed with the rest of the
    line (``verify.hash_matches``), so an altered byte there is a hash problem like any other."""
    if members is None:
        return loads
    decode = msgspec.json.Decoder(TypedDict("Members", {name: Any for name in members})).decode  # type: ignore[misc]

    def read(line: bytes) -> dict[str, Any]:
        try:
            return decode(line)
        except (msgspec.MsgspecError, RecursionError):  # (nesting deeper than msgspec goes: loads refuses it)
            return loads(line)

    return read


class NotJson(str):
    """What :func:`iter_lines` yields for a line that is not JSON (the parser's reason): no event,
    a ``malformed`` problem at its place (services.audit.verify)."""


def iter_lines(path: Path, members: Iterable[str] | None = None) -> Iterator[tuple[Any, bytes]]:
    """(event, raw line without its newline) for each non-empty line of an export file; with
    ``members``, each event holds those members only (:func:`members_reader`). A line that is not
    JSON gives :class:`NotJson` (why) in place of its event: a problem of the log, reported where
    it stands (services.audit.verify.envelope_problem), not an error that stops the replay."""
    read = members_reader(members)
    with path.open("rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if line:
                try:
                    event = read(line)
                except (ValueError, RecursionError) as error:  # orjson's JSONDecodeError, a UnicodeDecodeError
                    event = NotJson(f"{type(error).__name__}: {error}")
                yield event, line
