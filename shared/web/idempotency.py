"""The ``Idempotency-Key`` contract (rule 9) and the unit of work of a write request.

Every write route (POST/PUT/PATCH/DELETE) of a router made with :func:`shared.web.router` runs
through :class:`IdempotentRoute`:

0. **Authorise.** The token is verified and the route's role requirement checked *before* any
   stored response is looked at: a caller who may not make the request never sees a replay.
Steps 1–3 below are those of an ungrouped write (an upload, a route with
``openapi_extra={"x-group-commit": False}``, every write when ``group_commit_max_members`` is 1).
Every other write joins its service's group commit (:mod:`shared.web.group_commit`) after step 0,
which runs the same contract for a whole group in one transaction: the claim is an uncommitted row
of the group's transaction instead of a transaction of its own, so a concurrent retry waits for
the first attempt's commit and replays it rather than seeing it in flight (409).

1. **Claim.** In its own short transaction the key is inserted for the caller's scope — the
   whole principal (issuer, subject, roles, division, department), or the client's address on
   anonymous routes — with a hash of (method, path, query, body), state ``in_flight``, a fresh
   ``owner`` id and a lease. An existing key answers instead: another body → 422; still in
   flight → 409; completed → the stored response again, with ``Idempotent-Replayed: true``.
   A token differing in any claim of the principal is another scope, so a stored response is
   only ever replayed to the principal it was produced for.
2. **Work.** The endpoint runs on a session the route opens (``Depends(db_session)``); it adds
   rows and appends events but does not commit.
3. **Complete.** On a 2xx response the key is marked completed with the response *in the same
   transaction as the business rows and events*, conditional on still owning the claim, then
   committed. So a key is completed if and only if its effects are committed; a retry can never
   apply a write twice. An error response or exception rolls everything back and releases the
   key, so the client may retry with the same key. If the database became unavailable meanwhile
   (the answer is a 503 with ``Retry-After``), the rollback happens with the lost connection and
   the claim, which cannot be released, is taken over when its lease expires.

A claim whose lease expired without completing belongs to an attempt that did not commit (a
crashed process): the next attempt takes it over. If the crashed attempt was in fact only slow
and commits later, its conditional completion finds it no longer owns the claim and rolls back.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from fastapi import Depends, Request, Response, params
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, authorise, current_principal, verified
from shared.db import is_unavailable
from shared.errors import Conflict, Unauthorized, Unprocessable
from shared.web.upload_digest import canonical_body

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LEASE_SECONDS = 60
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEPT_HEADERS = ("content-type", "location")


@dataclass(frozen=True)
class Claim:
    owner: str | None = None  # set when this attempt may proceed
    replay: Response | None = None


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def client_digest(request: Request) -> str:
    """A salted hash of the client's address: anonymous callers are told apart (and rate-limited)
    by it without their address being stored."""
    address = request.client.host if request.client else "unknown"
    salt = request.app.state.settings.jwt_secret
    return hashlib.sha256(f"{salt}\x1f{address}".encode()).hexdigest()


@dataclass(frozen=True)
class Access:
    """What a route demands of its caller: a token at all, and which role sets it must meet."""

    authenticated: bool
    role_sets: tuple[frozenset[str], ...]


def route_access(dependant) -> Access:
    """Read from the route's dependencies (``current_principal``, ``require(...)``) however
    deeply nested, so step 0 checks what the endpoint itself would check."""
    calls = []
    pending = list(dependant.dependencies)
    while pending:
        sub = pending.pop()
        calls.append(sub.call)
        pending.extend(sub.dependencies)
    role_sets = tuple(c.allowed_roles for c in calls if getattr(c, "allowed_roles", None) is not None)
    return Access(authenticated=bool(role_sets) or current_principal in calls, role_sets=role_sets)


async def _authorised_scope(request: Request, access: Access) -> str:
    """Step 0: the caller's scope once the token is verified (401) and its roles are allowed on
    the route (403). Callers of anonymous routes are scoped by their address."""
    if not access.authenticated:
        return "public:" + client_digest(request)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthorized("需要身份令牌 (a bearer token is required)")
    principal = await verified(request, header[7:])  # once per request: the endpoint reuses it
    for allowed in access.role_sets:
        authorise(principal, allowed)
    return principal_scope(principal)


def principal_scope(principal: Principal) -> str:
    """The whole principal (issuer, subject, roles, division, department), hashed."""
    return "principal:" + hashlib.sha256(principal.identity().encode()).hexdigest()


async def _scope(request: Request) -> str:
    """The scope of a grouped write (shared.web.group_commit): its endpoint's dependencies have
    already verified and authorised the caller (``request.state.principal``), so nothing is
    replayed to a caller the route would refuse."""
    principal = getattr(request.state, "principal", None)
    return principal_scope(principal) if principal is not None else "public:" + client_digest(request)


async def claim(engine, scope: str, key: str, method: str, path: str, digest: str) -> Claim:
    owner = str(uuid.uuid4())
    async with engine.begin() as conn:
        inserted = await conn.scalar(text(
            "INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, owner, locked_until) "
            "VALUES (:scope, :key, :method, :path, :digest, 'in_flight', :owner, "
            "        now() + make_interval(secs => :lease)) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING 1"
        ), dict(scope=scope, key=key, method=method, path=path, digest=digest, owner=owner, lease=LEASE_SECONDS))
        if inserted:
            return Claim(owner=owner)
        row = (await conn.execute(text(
            "SELECT request_hash, state, status_code, response_headers, response_body, "
            "       locked_until < now() AS expired, "
            "       ceil(extract(epoch FROM locked_until - now())) AS lease_left "
            "FROM idempotency_keys WHERE scope = :scope AND key = :key FOR UPDATE"
        ), dict(scope=scope, key=key))).mappings().one()
        if row["request_hash"] != digest:
            raise Unprocessable(
                f"幂等键已用于另一请求 (Idempotency-Key {key!r} was used with a different request)",
                errors=[{"field": HEADER, "reason": "reused with a different method, path or body"}],
            )
        if row["state"] == "completed":
            headers = dict(row["response_headers"] or {})
            headers[REPLAYED] = "true"
            return Claim(replay=Response(row["response_body"], status_code=row["status_code"], headers=headers))
        if not row["expired"]:
            raise Conflict(f"同一幂等键的请求正在处理 (a request with Idempotency-Key {key!r} is in flight)",
                           headers={"Retry-After": str(max(1, int(row["lease_left"])))})
        await conn.execute(text(
            "UPDATE idempotency_keys SET owner = :owner, locked_until = now() + make_interval(secs => :lease) "
            "WHERE scope = :scope AND key = :key"
        ), dict(owner=owner, lease=LEASE_SECONDS, scope=scope, key=key))
        return Claim(owner=owner)


async def complete(session: AsyncSession, scope: str, key: str, owner: str, response: Response) -> bool:
    """Mark the key completed inside the business transaction; False if the claim was lost."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    done = await session.scalar(text(
        "UPDATE idempotency_keys SET state = 'completed', status_code = :status, "
        "  response_headers = CAST(:headers AS jsonb), response_body = :body, completed_at = now() "
        "WHERE scope = :scope AND key = :key AND owner = :owner AND state = 'in_flight' RETURNING 1"
    ), dict(status=response.status_code, headers=json.dumps(headers), body=bytes(response.body),
            scope=scope, key=key, owner=owner))
    return bool(done)


async def release(engine, scope: str, key: str, owner: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(
            "DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key AND owner = :owner "
            "AND state = 'in_flight'"
        ), dict(scope=scope, key=key, owner=owner))


class IdempotentRoute(APIRoute):
    """APIRoute that owns the transaction of write requests and applies the key contract.

    ``openapi_extra={"x-idempotency": "optional"}`` on a route makes the header optional
    (public forms cannot send headers); without a key such a request simply runs once.
    ``openapi_extra={"x-group-commit": True}``: the endpoint commits through a
    :class:`shared.web.group_commit.GroupCommit`, which keeps this contract for a whole group.
    """

    def get_route_handler(self) -> Callable:
        endpoint = super().get_route_handler()
        key_optional = (self.openapi_extra or {}).get("x-idempotency") == "optional"
        access = route_access(self.dependant)
        grouped = (self.openapi_extra or {}).get("x-group-commit") is True  # a group of its own
        # uploads stay out of the generic group: their parsing would hold the group's locks, and
        # they record a refusal in a transaction of their own (shared.web.group_commit)
        ungrouped = (self.openapi_extra or {}).get("x-group-commit") is False or any(
            isinstance(f.field_info, params.Form) for f in self.dependant.body_params)

        async def handler(request: Request) -> Response:
            if request.method not in WRITE_METHODS:
                return await endpoint(request)
            key = request.headers.get(HEADER)
            if key is None and not key_optional:
                raise Unprocessable(
                    "写操作需要幂等键 (write requests need an Idempotency-Key header)",
                    errors=[{"field": HEADER, "reason": "required"}],
                )
            if key is not None and not (1 <= len(key) <= 200):
                raise Unprocessable("幂等键长度须为1–200 (Idempotency-Key must be 1–200 characters)",
                                    errors=[{"field": HEADER, "reason": "length 1–200"}])
            if grouped:  # claim, work and completion happen in the group's transaction, after the
                return await endpoint(request)  # endpoint's dependencies authorised the caller
            if ungrouped or request.app.state.settings.group_commit_max_members <= 1:
                return await _run_write(request, endpoint, key, access)
            return await _grouped_write(request, endpoint, key, access)

        return handler


async def _grouped_write(request: Request, endpoint: Callable, key: str | None, access: Access) -> Response:
    """Steps 1–3 in the service's group commit (shared.web.group_commit): step 0 here, in the
    request's own task; the claim, the endpoint and the completion in the group's transaction."""
    from shared.web.group_commit import Call, GroupCommit, Member, run_endpoints

    scope = digest = None
    if key is not None:
        body = await request.body()
        scope = await _authorised_scope(request, access)
        digest = request_hash(request.method, request.url.path, request.url.query,
                              canonical_body(request.headers.get("content-type"), body))
    member = Member(Call(request, endpoint, contextvars.copy_context()), scope, key, request.method,
                    request.url.path, digest)
    return await GroupCommit.of(request, "writes", run_endpoints).join(member)


async def _run_write(request: Request, endpoint: Callable, key: str | None,
                     access: Access) -> Response:
    app = request.app
    engine = app.state.engine
    held: tuple[str, str, str] | None = None  # (scope, key, owner) of the claimed key
    if key is not None:
        body = await request.body()
        scope = await _authorised_scope(request, access)
        digest = request_hash(request.method, request.url.path, request.url.query,
                              canonical_body(request.headers.get("content-type"), body))  # uploads: by content
        claimed = await claim(engine, scope, key, request.method, request.url.path, digest)
        if claimed.replay is not None:
            return claimed.replay
        assert claimed.owner is not None  # no replay: this attempt holds the key
        held = (scope, key, claimed.owner)
    async with app.state.sessionmaker() as session:
        request.state.session = session
        try:
            response = await endpoint(request)
            if response.status_code >= 400:
                await session.rollback()
            else:
                if held is not None and not await complete(session, *held, response):
                    await session.rollback()
                    raise Conflict(f"幂等键已被另一请求接管 (Idempotency-Key {key!r} was taken over by a retry)")
                await session.commit()
                return response
        except BaseException:
            await _quietly(session.rollback())
            if held is not None:
                await _quietly(release(engine, *held))
            raise
    if held is not None:
        await release(engine, *held)
    return response


async def _quietly(step) -> None:
    """A clean-up step after a failure that must not hide it: when the database is unavailable the
    step cannot run (a rollback happens anyway; a claim left behind expires with its lease)."""
    try:
        await step
    except Exception as exc:
        if not is_unavailable(exc):
            raise


async def db_session(request: Request) -> Any:
    """The request's session: the write route's unit of work, or a fresh read session."""
    session = getattr(request.state, "session", None)
    if session is not None:
        yield session
        return
    async with request.app.state.sessionmaker() as session:
        yield session


Session = Annotated[AsyncSession, Depends(db_session)]
"""A route's database session: ``session: Session`` (the write route's unit of work, else a read session)."""
