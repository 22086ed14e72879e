"""The input boundary: what every request must be before any route of any service sees it.

Applied by the app factory as ASGI middleware, in front of routing, idempotency claims and
transactions. Guarantees:

1. **Size before reading.** A body larger than the limit of its kind — ``max_upload_bytes`` for
   multipart and binary bodies, ``max_body_bytes`` for everything else — is refused with 413: a
   ``Content-Length`` over the limit before a byte is read, a streamed body as soon as it passes it.
2. **Depth before parsing.** A JSON body (declared JSON, or without a content type, which FastAPI
   parses as JSON) nested deeper than ``max_json_depth`` — or whose brackets do not balance — is
   refused with 422 before any parser sees it: no hostile body reaches a recursive parser.
3. **No control characters.** A string with a control character (C0, DEL, C1) or a lone surrogate
   is refused with 422 problem+json naming the field: path parameters (``path.<name>``), query
   parameters (``query.<name>``) and header values (``header.<name>``) allow none (a header allows a
   tab, RFC 9110 §5.5); free text — JSON strings and keys at any depth (named by their path,
   ``people.0.name``), form fields, the text fields of multipart uploads, text bodies — allows
   ``\\t \\n \\r`` only. PostgreSQL cannot store NUL in text or JSONB, so this is also what keeps a
   NUL from turning into a server error deep inside a write.
4. **Nothing is written for a refused request.** The boundary answers before the route runs.

Names, numbers and other per-field rules are the schemas' business (``shared/fields.py``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Iterator
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.routing import compile_path

from shared.errors import Problem, Unprocessable
from shared.web.problems import problem_response

#: what free text may not contain: C0 controls but tab, newline and carriage return; DEL; C1; surrogates
_FORBIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: what a one-line value (path, query) may not contain: every control character
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
#: a raw JSON body can carry a forbidden character only as a \\u escape, a raw DEL or raw C1 in UTF-8
#: (raw C0 controls are invalid JSON: the parser refuses them)
#: (two patterns, each with a literal prefix the regex engine searches for quickly)
_ESCAPED_CONTROL = re.compile(rb"\\u(?:00[01]|007[fF]|00[89]|[dD][89a-fA-F])")
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_ESCAPE = re.compile(rb"\\.", re.S)
_STRING = re.compile(rb'"[^"]*"')
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_UPLOAD_TYPES = ("multipart/", "application/octet-stream", "application/vnd.", "application/zip")


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "too-large"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "control character" if not 0xD800 <= ord(char) <= 0xDFFF else "lone surrogate")
    return f"U+{ord(char):04X} {name}"


def control_character_error(field: str, char: str) -> dict[str, str]:
    return {"field": field, "reason": f"含有不允许的控制字符 (contains a forbidden character: {_describe(char)})"}


def forbidden_character(value: str, pattern: re.Pattern = _FORBIDDEN_IN_TEXT) -> str | None:
    """The first character free text may not hold (guarantee 3), or None."""
    found = pattern.search(value)
    return found.group() if found else None


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether a JSON text nests deeper than ``limit`` (or its brackets do not balance), found
    without parsing: escapes are dropped, everything but brackets and quotes deleted, strings cut
    out, then innermost bracket pairs removed ``limit`` times — anything left is deeper than the
    limit. Each step is one C-speed pass, the later ones over a much shorter text."""
    structure = (_ESCAPE.sub(b"", raw) if b"\\" in raw else raw).translate(None, _NOT_STRUCTURE)
    # most strings hold no bracket and are now an adjacent pair of quotes; removing any adjacent
    # pair is safe (an empty string, or two strings with nothing between them merged into one)
    brackets = _STRING.sub(b"", structure.replace(b'""', b""))
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST_PAIR.sub(b"", brackets)
    return bool(brackets)


def _may_hide_control(raw: bytes) -> bool:
    return bool(_ESCAPED_CONTROL.search(raw) or b"\x7f" in raw or (b"\xc2" in raw and _RAW_C1.search(raw)))


def json_control_errors(value: Any, path: tuple = ()) -> Iterator[dict[str, str]]:
    """Every string (key or value) in a parsed JSON document holding a forbidden character, named
    by its path the way validation errors name fields (``people.0.name``)."""
    if isinstance(value, str):
        if (char := forbidden_character(value)) is not None:
            yield control_character_error(".".join(map(str, path)) or "body", char)
    elif isinstance(value, dict):
        for key, item in value.items():
            if (char := forbidden_character(key)) is not None:
                yield control_character_error(".".join(map(str, (*path, key))), char)
            yield from json_control_errors(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_control_errors(item, (*path, index))


def _path_errors(scope) -> list[dict[str, str]]:
    path = scope.get("path", "")
    if (char := forbidden_character(path, _FORBIDDEN_IN_LINE)) is None:
        return []
    for template in _path_templates(scope.get("app")):
        if matched := template.fullmatch(path):
            named = [name for name, value in matched.groupdict().items()
                     if forbidden_character(value, _FORBIDDEN_IN_LINE) is not None]
            if named:
                return [control_character_error(f"path.{name}", char) for name in named]
    return [control_character_error("path", char)]


def _path_templates(app) -> list[re.Pattern]:
    """The app's documented path templates as patterns (``/persons/{id_number}``), built once."""
    templates = getattr(getattr(app, "state", None), "path_templates", None)
    if templates is None and hasattr(app, "openapi"):
        templates = [compile_path(path)[0] for path in app.openapi().get("paths", {})]
        app.state.path_templates = templates
    return templates or []


def _query_errors(scope) -> list[dict[str, str]]:
    errors = []
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        for part in (name, value):
            if (char := forbidden_character(part, _FORBIDDEN_IN_LINE)) is not None:
                errors.append(control_character_error(f"query.{name}", char))
                break
    return errors


def _header_errors(scope) -> list[dict[str, str]]:
    errors = []
    for name, value in scope.get("headers", ()):
        if (char := forbidden_character(value.decode("latin-1"), _FORBIDDEN_IN_HEADER)) is not None:
            errors.append(control_character_error(f"header.{name.decode('latin-1').lower()}", char))
    return errors


def _media_type(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def _is_json(media: str) -> bool:
    return media in ("", "application/json") or media.endswith("+json")


class InputBoundary:
    """Pure ASGI middleware keeping the guarantees above."""

    def __init__(self, app, *, max_body_bytes: int, max_upload_bytes: int, max_json_depth: int):
        self.app = app
        self.max_body_bytes, self.max_upload_bytes, self.max_json_depth = max_body_bytes, max_upload_bytes, max_json_depth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            errors = _path_errors(scope) + _query_errors(scope) + _header_errors(scope)
            _raise_if(errors)
            body = await self._read_body(scope, receive)
            if body:
                await self._check_body(scope, body)
        except Problem as refusal:
            response = problem_response(refusal, Request(scope), headers=refusal.headers)
            return await response(scope, _nothing, send)
        await self.app(scope, _replay(body, receive) if body is not None else receive, send)

    def _limit(self, scope) -> int:
        return self.max_upload_bytes if _media_type(scope).startswith(_UPLOAD_TYPES) else self.max_body_bytes

    async def _read_body(self, scope, receive) -> bytes | None:
        """The whole body (size-checked), or None for a request that has none to read."""
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") and not _declared_length(scope):
            return None
        limit = self._limit(scope)
        if (_declared_length(scope) or 0) > limit:
            raise _too_large(limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _check_body(self, scope, body: bytes) -> None:
        media = _media_type(scope)
        if _is_json(media):
            if json_depth_exceeds(body, self.max_json_depth):
                raise Unprocessable(
                    f"JSON嵌套过深 (the JSON body nests deeper than {self.max_json_depth} levels or its brackets "
                    "do not balance)", errors=[{"field": "body", "reason": f"deeper than {self.max_json_depth} levels"}])
            if _may_hide_control(body):
                try:
                    document = json.loads(body)
                except ValueError:
                    return  # not JSON: the route's own parser refuses it
                _raise_if(list(json_control_errors(document)))
        elif media == "application/x-www-form-urlencoded":
            fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            _raise_if([control_character_error(name, char) for name, value in fields
                       if (char := forbidden_character(name + value)) is not None])
        elif media == "multipart/form-data":
            await _check_multipart(scope, body)
        elif media.startswith("text/"):
            text = body.decode("utf-8", "replace")
            if (char := forbidden_character(text)) is not None:
                line = text[:text.index(char)].count("\n") + 1
                _raise_if([control_character_error(f"body (line {line})", char)])


async def _check_multipart(scope, body: bytes) -> None:
    """The text fields of a multipart upload (files are the routes' business)."""
    request = Request(scope, _replay(body, _nothing))
    try:
        form = await request.form()
    except Exception:  # a malformed multipart body: the route's own parser refuses it
        return
    try:
        _raise_if([control_character_error(name, char) for name, value in form.multi_items()
                   if isinstance(value, str) and (char := forbidden_character(name + value)) is not None])
    finally:
        await form.close()


def _raise_if(errors: list[dict[str, str]]) -> None:
    """Refused the way the validation handler refuses a declared field: 422, every field named."""
    if errors:
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Unprocessable(f"请求数据无效 (invalid request: {detail})", errors=errors)


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"请求体过大 (the body is larger than {limit // 2**20} MiB)")


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _nothing():
    return {"type": "http.disconnect"}


__all__ = ["InputBoundary", "PayloadTooLarge", "control_character_error", "forbidden_character", "json_control_errors",
           "json_depth_exceeds"]
