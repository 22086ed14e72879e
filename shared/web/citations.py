"""Citations as people read them, in every JSON answer (issue 14; :mod:`shared.policy.citations`).

The policy table cites the seed plans (``seed 004 L27``) and the handbook (``DOMAIN.md §4``) for
developers; rules, deadlines, findings and refusals carry those citations into many answers. This
pure ASGI middleware is the one place that turns them into what a person can look up, for every
route at once — a route added later cannot forget it:

1. **Every JSON answer** (``application/json``) whose body mentions an internal reference has each
   of its strings passed through :func:`~shared.policy.citations.public_text`: the seed plans by
   title, handbook references dropped (a citation that was nothing else reads as the system's
   default rule, :data:`~shared.policy.citations.SYSTEM_DEFAULT`). Problems are made public where they are raised already.
2. **Never what is signed or hashed.** The log's own answers — the event feed and its proofs,
   checkpoints, witness notes, keys, and receipts (an event with its inclusion proof) — are the
   events byte for byte: rewriting a citation in them would break the hash a reader verifies.
3. **Cheap when there is nothing to do.** A body is only parsed if one of the markers occurs in its
   bytes (a C-speed substring search); a streamed body (more than one chunk) passes unchanged.

Spreadsheets are rendered from the endpoint's answer, not from this body: :mod:`shared.web.export`
passes their text cells through the same function.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.policy.citations import SYSTEM_DEFAULT, public_text

__all__ = ["PublicCitations", "public_string", "public_strings"]

#: byte strings that may start an internal reference (the patterns of shared.policy.citations)
MARKERS = (b"seed 0", b"DOMAIN", b"ARCHITECTURE")
#: paths whose answers are the log's own bytes (see 2)
_MACHINE_PREFIXES = ("/events", "/checkpoints", "/witness", "/.well-known/")


def has_marker(body: bytes) -> bool:
    return any(marker in body for marker in MARKERS)


def public_string(text: str) -> str:
    """``public_text``; a string that was nothing but a handbook reference (a rule's citation
    ``DOMAIN.md §3``) says the rule is the system's default, as ``public_citation`` does."""
    public = public_text(text)
    return public if public.strip() or not text.strip() else SYSTEM_DEFAULT


def public_strings(value: Any) -> Any:
    """``value`` (decoded JSON) with every string passed through :func:`public_string`."""
    if isinstance(value, str):
        return public_string(value)
    if isinstance(value, list):
        return [public_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: public_strings(v) for k, v in value.items()}
    return value


def _machine(path: str) -> bool:
    return path.startswith(_MACHINE_PREFIXES) or path.endswith("/receipt")


class PublicCitations:
    """Pure ASGI middleware: see the module's guarantees."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _machine(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}

        async def rewrite(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if any(k == b"content-type" and v.split(b";")[0].strip() == b"application/json" for k, v in headers):
                    held["start"] = message  # until its body is seen
                    return
                await send(message)
                return
            start = held.pop("start", None)
            if start is None:
                await send(message)
                return
            body = message.get("body", b"")
            if not message.get("more_body", False) and has_marker(body):
                try:
                    body = orjson.dumps(public_strings(orjson.loads(body)))
                except orjson.JSONDecodeError:
                    pass  # not JSON after all: as it was
                else:
                    start = {**start, "headers": [(k, v) for k, v in start["headers"] if k != b"content-length"]
                             + [(b"content-length", str(len(body)).encode())]}
                    message = {**message, "body": body}
            await send(start)
            await send(message)

        await self.app(scope, receive, rewrite)
