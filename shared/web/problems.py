"""Exception handlers: everything the API refuses is ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import logging as fupin_logging
from shared.db import is_contention, is_stale_statement, unavailable_cause
from shared.errors import PROBLEM_BASE, Problem, ServiceUnavailable, Unprocessable
from shared.masking import mask_personal_numbers
from shared.policy import NoRuleError
from shared.policy.citations import public_citation, public_text

PROBLEM_JSON = "application/problem+json"
#: What a client is told to wait before retrying when a dependency (the database) is down.
RETRY_AFTER_SECONDS = 5
#: Exceptions that may mean the database is unavailable (``shared.db.is_unavailable`` decides).
_MAYBE_UNAVAILABLE = (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                      OSError)

log = fupin_logging.get_logger("fupin.http")


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("数据库暂不可用，请稍后重试 (the database is unavailable; retry after the given seconds)",
                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

def contended() -> ServiceUnavailable:
    """A write PostgreSQL aborted in a deadlock or serialization failure with another writer
    (``shared.db.is_contention``) — after the group commit's own attempts, or on an ungrouped path
    (an upload): nothing of it was written; the retry (same Idempotency-Key) runs."""
    return ServiceUnavailable("数据库并发冲突，请重试 (the database aborted this request in a conflict with another "
                              "writer; nothing of it was written; retry)", headers={"Retry-After": "1"})


def stale_statement() -> ServiceUnavailable:
    """A write whose transaction ran a statement prepared before a migration changed its result
    type (``shared.db.is_stale_statement``): nothing was written, and the connection has forgotten
    its prepared statements, so the retry (same Idempotency-Key) runs."""
    return ServiceUnavailable("数据库结构刚刚变更，请重试 (the database schema changed under this request; nothing was "
                              "written; retry)", headers={"Retry-After": "1"})


_HTTP_SLUGS = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
               409: "conflict", 413: "too-large", 415: "unsupported-media-type", 429: "rate-limited"}


def problem_response(problem: Problem, request: Request, headers: dict[str, str] | None = None) -> JSONResponse:
    # the path may carry user input (an ID number typed into a URL): never echo it unmasked
    body = _public(problem.body(mask_personal_numbers(str(request.url.path))))
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _public(value):
    """A refusal names real documents, never the project's internal files (a rule's citation
    may read ``seed 004 L27; DOMAIN.md §4`` in the policy table)."""
    if isinstance(value, str):
        return public_text(value)
    if isinstance(value, dict):
        return {k: public_citation(v) if k == "citation" and isinstance(v, str) else _public(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _field(loc: tuple) -> str:
    """'body.amount' → 'amount'; query/path/header locations keep their prefix for clarity."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        reason = err.get("msg", "invalid")
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, ValueError):  # our validators' bilingual message, without pydantic's prefix
            reason = str(ctx_error)
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":  # FastAPI puts the character position where a field would be
            loc, reason = ("body",), f"不是有效的 JSON (not valid JSON: {reason}" + (
                f" at character {loc[1]})" if len(loc) > 1 else ")")
        errors.append({"field": _field(loc), "reason": reason})
    return errors


def validate_body(model, data):
    """Validate a body read by hand (several shapes, forms) the way FastAPI validates declared
    bodies: a failure is the same 422 problem, fields named as in the body."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


async def json_body(request: Request):
    """The request's JSON body, for endpoints that read their body by hand; invalid JSON is the
    same 422 problem as for declared bodies."""
    try:
        return await request.json()
    except ValueError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "input": None,
                                       "msg": "请求体不是有效的JSON (body is not valid JSON)"}]) from None


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem_response(Unprocessable(f"请求数据无效 (invalid request: {detail})", errors=errors), request)

    @app.exception_handler(NoRuleError)
    async def _no_rule(request: Request, exc: NoRuleError):
        # the policy table has no rule in force for this division and date: a request for a case
        # the deployment has not configured, not a server fault
        return problem_response(Unprocessable(f"政策表中没有适用的规则 ({exc})", slug="no-policy-rule",
                                              rule=getattr(exc, "rule_id", None)), request)

    async def _maybe_unavailable(request: Request, exc: Exception):
        # the database is down or restarting: 503 with Retry-After; anything else is a fault (500)
        if is_stale_statement(exc):  # a migration changed a prepared statement's result type
            log.warning("prepared statement outdated by a migration", path=request.url.path)
            problem = stale_statement()
            return problem_response(problem, request, headers=problem.headers)
        if is_contention(exc):  # a deadlock or serialization failure: rolled back, nothing written
            log.warning("transaction aborted by a concurrent one", path=request.url.path)
            problem = contended()
            return problem_response(problem, request, headers=problem.headers)
        cause = unavailable_cause(exc)
        if cause is None:
            raise exc
        log.warning("database unavailable", path=request.url.path, error=type(exc).__name__,
                    cause=type(cause).__name__)
        problem = unavailable()
        return problem_response(problem, request, headers=problem.headers)

    for kind in _MAYBE_UNAVAILABLE:
        app.add_exception_handler(kind, _maybe_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # logged with its traceback by the server; the client learns nothing of the internals
        problem = Problem("服务器内部错误 (internal error; quote the X-Correlation-ID when reporting it)",
                          title="Internal Server Error", slug="internal")
        problem.status = 500
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == _UNPARSEABLE:  # FastAPI's words for a body it could not read
            problem = Problem("请求体无法解析 (the body is not valid for its Content-Type; send JSON)", title="Bad Request",
                              slug="unparseable-body", errors=[{"field": "body", "reason": "不是有效的 JSON (not valid JSON)"}])
        elif exc.status_code == 400:
            # our code raises problems, never a 400 HTTPException: this one is the framework refusing the
            # body it parsed (multipart: "Invalid multipart data.", too many files or fields, a part too large)
            problem = Problem(f"请求体无法解析 (the body could not be read: {exc.detail})", title="Bad Request",
                              slug="unparseable-body", errors=[{"field": "body", "reason": str(exc.detail)}])
        else:
            problem = Problem(str(exc.detail), title=_title(exc.status_code),
                              slug=_HTTP_SLUGS.get(exc.status_code, "http-error"))
        problem.status = exc.status_code
        return problem_response(problem, request, headers=getattr(exc, "headers", None))


#: what FastAPI raises (400) when a JSON body does not parse
_UNPARSEABLE = "There was an error parsing the body"


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


__all__ = ["PROBLEM_BASE", "PROBLEM_JSON", "RETRY_AFTER_SECONDS", "install", "unavailable", "json_body", "problem_response",
           "validate_body", "validation_errors"]
