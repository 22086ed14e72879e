"""Problem details (RFC 9457): the one error shape every service answers with.

Domain and service code raise a :class:`Problem` subclass; the web layer renders it as
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and any extension
members (``errors`` for field-level validation, ``citation`` for a policy rule, ``announcement``
for a workflow gate, …).
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://fupin.example/problems/"


class Problem(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, *, title: str | None = None, slug: str | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        if title:
            self.title = title
        if slug:
            self.slug = slug
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class Unprocessable(Problem):
    """A request that is well-formed but breaks a rule. ``errors``: [{field, reason}]."""

    status, title, slug = 422, "Unprocessable request", "validation"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extensions: Any):
        if errors is not None:
            extensions["errors"] = errors
        super().__init__(detail, **extensions)


class DomainError(Unprocessable, ValueError):
    """A pure domain rule refusing the values it was given: 422, naming the field when it can.

    Why a type and not a handler turning every ``ValueError`` into a 4xx: a ``ValueError`` from
    anywhere else is a bug — a broken invariant, a programmer's assertion, a library misused — and
    must stay a logged 500 that someone fixes; only what the domain raises on purpose about its
    input is the caller's to correct. Being a ``ValueError`` too, it changes nothing for code that
    calls the domain outside HTTP and catches ``ValueError`` (the audit's rebuild, the CLI). The
    funds domain's ``FundsError`` is the same pairing.
    """


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "unavailable"
