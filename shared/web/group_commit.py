"""Group commit: concurrent write requests of one kind coalesced into one transaction.

A service's log has one writer at a time (rule 3: the append lock), so concurrent writes queue
behind each other's round trips and commits. A :class:`GroupCommit` makes that one writer do many
requests' work at once (seed: issue #13; PostgreSQL's own WAL group commit, TigerBeetle's batches).
The routes that use it (``openapi_extra={"x-group-commit": True}``) skip the per-request claim and
unit of work of :mod:`shared.web.idempotency`; their endpoint validates, authorises and builds its
member's work, then waits for the group's answer (:meth:`GroupCommit.submit`).

Guarantees:

1. **One transaction per group.** Every member's ``Idempotency-Key`` claim (one statement), the
   group's work (one call of ``apply`` with every member's work in order — for the ledger: each
   account row locked once, the log locked once, all events appended by one append), the
   completion of every member's key with its response (one statement), one commit.
2. **Each member keeps its own outcome.** ``apply`` answers each member with a response or a
   problem of its own; a refused member (a 4xx) has its claim withdrawn in the same transaction
   and nothing of it is written, and it refuses only itself.
3. **Order.** Members are taken in arrival order and ``apply`` judges them in that order; the
   events of the group follow that order in the log.
4. **All or nothing.** If the transaction fails — an exception in ``apply``, a lost connection, a
   crash — nothing of the group is written: every member gets the error and its key stays free.
   No member is answered before the commit.
5. **Idempotent (rule 9).** A key completed before replays its response (``Idempotent-Replayed:
   true``); a key used with another request is a 422; a key claimed by a request still in flight
   outside any group is a 409, and so is the later of two members of one group with one key. A
   retry sent while its first attempt's group commits waits on the key's row (the claim is an
   uncommitted insert) and then replays the committed response — or, if that group rolled back,
   claims the key itself. No grouped request is ever seen in flight by another.
6. **Each member's own context.** ``apply`` runs in one task outside the members' requests:
   whatever a member's work needs from its request (its actor, its correlation id) travels in
   the work itself, so every event still names its own request.
7. **Bounded latency.** A group closes when ``max_members`` have joined, or ``window`` seconds
   after its first member (default 0: no waiting — the requests that arrive while a group commits
   form the next one, so a lone request pays nothing).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence, cast

from fastapi import Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import Conflict, Problem, Unprocessable
from shared.web.idempotency import HEADER, LEASE_SECONDS, REPLAYED, _KEPT_HEADERS, _scope, request_hash

#: ``apply(session, works)``: one outcome per work, in order — a 2xx response or a problem.
Apply = Callable[[AsyncSession, list[Any]], Awaitable[list[Response | Problem]]]

_CLAIM = text(
    "INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, owner, locked_until) "
    "SELECT c.scope, c.key, c.method, c.path, c.digest, 'in_flight', :owner, now() + make_interval(secs => :lease) "
    "FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:methods AS text[]), CAST(:paths AS text[]), "
    "            CAST(:digests AS text[])) AS c(scope, key, method, path, digest) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key"
)
_EXISTING = text(
    "SELECT k.scope, k.key, k.request_hash, k.state, k.status_code, k.response_headers, k.response_body, "
    "       k.locked_until < now() AS expired "
    "FROM idempotency_keys AS k JOIN unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS c(scope, key) "
    "  ON k.scope = c.scope AND k.key = c.key FOR UPDATE OF k"
)
_TAKE_OVER = text(
    "UPDATE idempotency_keys AS k SET owner = :owner, locked_until = now() + make_interval(secs => :lease) "
    "FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS c(scope, key) "
    "WHERE k.scope = c.scope AND k.key = c.key"
)
_COMPLETE = text(
    "UPDATE idempotency_keys AS k SET state = 'completed', status_code = c.status, response_headers = c.headers, "
    "  response_body = c.body, completed_at = now() "
    "FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:statuses AS int[]), "
    "            CAST(:headers AS jsonb[]), CAST(:bodies AS bytea[])) AS c(scope, key, status, headers, body) "
    "WHERE k.scope = c.scope AND k.key = c.key AND k.owner = :owner"
)
_WITHDRAW = text(
    "DELETE FROM idempotency_keys AS k USING unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS c(scope, key) "
    "WHERE k.scope = c.scope AND k.key = c.key AND k.owner = :owner"
)


@dataclass(eq=False)
class Member:
    """One request waiting in a group: its key (None: a route whose key is optional and absent)."""

    work: Any
    scope: str | None
    key: str | None
    method: str
    path: str
    digest: str | None
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def identity(self) -> tuple[str | None, str] | None:
        return (self.scope, self.key) if self.key is not None else None


class GroupCommit:
    """Coalesces concurrent :meth:`submit` calls into groups, each one transaction (see module)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], apply: Apply, *,
                 max_members: int = 64, window: float = 0.0):
        self.sessionmaker, self.apply = sessionmaker, apply
        self.max_members, self.window = max_members, window
        self.waiting: list[Member] = []
        self.committer: asyncio.Task | None = None
        self.groups = 0  # committed groups (for tests and metrics)

    @classmethod
    def of(cls, request: Request, name: str, apply: Apply) -> GroupCommit:
        """The app's group for ``name`` (made on first use, sized by the service's settings)."""
        state = request.app.state
        if getattr(state, "group_commits", None) is None:
            state.group_commits = {}
        if name not in state.group_commits:
            settings = state.settings
            state.group_commits[name] = cls(state.sessionmaker, apply, max_members=settings.group_commit_max_members,
                                            window=settings.group_commit_window_seconds)
        return state.group_commits[name]

    async def submit(self, request: Request, work: Any) -> Response:
        """Join the next group with ``work``; the member's response once its group committed, or
        its problem raised."""
        key = request.headers.get(HEADER)
        digest = scope = None
        if key is not None:
            scope = await _scope(request)
            digest = request_hash(request.method, request.url.path, request.url.query, await request.body())
        member = Member(work, scope, key, request.method, request.url.path, digest)
        self.waiting.append(member)
        if self.committer is None or self.committer.done():
            self.committer = asyncio.create_task(self._commit_all())
        return await asyncio.shield(member.answer)  # a client gone does not cancel its group

    async def _commit_all(self) -> None:
        """Commit groups while members wait; ends when none do (a new submit starts it again)."""
        while self.waiting:
            if self.window and len(self.waiting) < self.max_members:
                await asyncio.sleep(self.window)
            group, self.waiting = self.waiting[:self.max_members], self.waiting[self.max_members:]
            await self._commit(group)

    async def _commit(self, group: list[Member]) -> None:
        owner = str(uuid.uuid4())
        try:
            async with self.sessionmaker() as session, session.begin():
                answers = await _claim(session, group, owner)
                live = [m for m in group if m not in answers]
                outcomes = await self.apply(session, [m.work for m in live]) if live else []
                if len(outcomes) != len(live):
                    raise RuntimeError("a group's apply must answer every member")
                answers.update(zip(live, outcomes))
                done = [m for m in live if _succeeded(answers[m])]
                await _complete(session, [(m, cast(Response, answers[m])) for m in done if m.key is not None], owner)
                await _withdraw(session, [m for m in live if m not in done and m.key is not None], owner)
        except BaseException as error:
            for member in group:
                if not member.answer.done():
                    member.answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        self.groups += 1
        for member in group:
            outcome = answers[member]
            if isinstance(outcome, BaseException):
                member.answer.set_exception(outcome)
            else:
                member.answer.set_result(outcome)


def _succeeded(outcome: Response | Problem) -> bool:
    return isinstance(outcome, Response) and outcome.status_code < 400


async def _claim(session: AsyncSession, group: Sequence[Member], owner: str) -> dict[Member, Response | Problem]:
    """Claim every member's key in one statement; the answers of the members that may not proceed
    (a replay, a 422, a 409). The claims are rows of this transaction: no one sees them in flight."""
    answers: dict[Member, Response | Problem] = {}
    first: dict[tuple[str | None, str], Member] = {}
    for member in group:
        if member.identity is None:
            continue
        if member.identity in first:
            answers[member] = _in_flight(member.key)
        else:
            first[member.identity] = member
    if not first:
        return answers
    claimed = {(row.scope, row.key) for row in await session.execute(_CLAIM, dict(
        owner=owner, lease=LEASE_SECONDS, **_columns(first.values(), "scope", "key", "method", "path", "digest")))}
    others = {identity: m for identity, m in first.items() if identity not in claimed}
    if not others:
        return answers
    existing = await session.execute(_EXISTING, _columns(others.values(), "scope", "key"))
    rows = {(r["scope"], r["key"]): r for r in existing.mappings()}
    expired = []
    for identity, member in others.items():
        row = rows[identity]
        if row["request_hash"] != member.digest:
            answers[member] = Unprocessable(
                f"幂等键已用于另一请求 (Idempotency-Key {member.key!r} was used with a different request)",
                errors=[{"field": HEADER, "reason": "reused with a different method, path or body"}])
        elif row["state"] == "completed":
            headers = {**(row["response_headers"] or {}), REPLAYED: "true"}
            answers[member] = Response(row["response_body"], status_code=row["status_code"], headers=headers)
        elif not row["expired"]:
            answers[member] = _in_flight(member.key)
        else:
            expired.append(member)  # an attempt that never committed: taken over
    if expired:
        await session.execute(_TAKE_OVER, dict(owner=owner, lease=LEASE_SECONDS, **_columns(expired, "scope", "key")))
    return answers


async def _complete(session: AsyncSession, done: Sequence[tuple[Member, Response]], owner: str) -> None:
    if done:
        await session.execute(_COMPLETE, dict(
            owner=owner, **_columns([m for m, _ in done], "scope", "key"),
            statuses=[r.status_code for _, r in done],
            headers=[json.dumps({k: v for k, v in r.headers.items() if k.lower() in _KEPT_HEADERS}) for _, r in done],
            bodies=[bytes(r.body) for _, r in done]))


async def _withdraw(session: AsyncSession, refused: Sequence[Member], owner: str) -> None:
    if refused:
        await session.execute(_WITHDRAW, dict(owner=owner, **_columns(refused, "scope", "key")))


def _columns(members, *names: str) -> dict[str, list]:
    return {f"{name}s": [getattr(m, name) for m in members] for name in names}


def _in_flight(key: str | None) -> Conflict:
    return Conflict(f"同一幂等键的请求正在处理 (a request with Idempotency-Key {key!r} is in flight)")
