"""Group commit: concurrent write requests to one service coalesced into one transaction.

A service's log has one writer at a time (rule 3: the append lock), so concurrent writes queue
behind each other's round trips and commits. A :class:`GroupCommit` makes that one writer do many
requests' work at once (seed: issue #13; PostgreSQL's own WAL group commit, TigerBeetle's batches).

Every write route of :class:`shared.web.idempotency.IdempotentRoute` goes through the service's
generic group (``"writes"``): the route authorises the caller (step 0 of the key contract), then
its request joins the group; the group's committer runs each member's endpoint — FastAPI's whole
handler: dependencies, the endpoint function, the response model — on the group's session
(:func:`run_endpoints`). ``POST /disbursements`` has a group of its own (``"postings"``,
``openapi_extra={"x-group-commit": True}``): its endpoint builds the member's ledger entry and the
group posts all entries with one look-up of everything it reads (which also locks each account
and reads the log's tail, :func:`services.funds.usecases.ledger.look_up`) and one append
(:func:`services.funds.usecases.ledger.post_each`), measured at 9× the rate of the same route
through the generic group (``bench/RESULTS.md``, group_commit_load); a group of them costs seven
round trips (``tests/service/test_group_commit_roundtrips.py``). The members of a generic
group run one after the other on one connection: a group saves each member its claim transaction
and its commit, but does not overlap their round trips. Ungrouped, with a claim transaction and a unit of work of their own
(:func:`shared.web.idempotency._run_write`): uploads (multipart routes — minutes of parsing must
not hold a group's locks, and they record a refusal in a transaction of their own), routes with
``openapi_extra={"x-group-commit": False}``, and every write when ``group_commit_max_members`` is 1.
Not HTTP and not grouped: the relay, consumers and schedulers.

Guarantees:

1. **One transaction per group.** Every member's ``Idempotency-Key`` claim and the log's append
   lock (one statement, :data:`_CLAIM`), the log's tail (once, before any member's work, in the
   next statement that reads: the generic group's own, the disbursement group's look-up — never in
   the statement that waited for the lock, whose snapshot is older; the members append after the
   tail the group read, :func:`shared.events.store.held_tail`), each member's work in arrival order, the
   completion of every member's key with its response (one statement), one commit.
2. **Each member keeps its own outcome.** A generic member runs inside its own SAVEPOINT: a 2xx
   keeps its rows and events (the savepoint is released), a refusal — a 4xx answered or raised, a
   domain problem, an error of this member alone — rolls back to the savepoint, so it writes
   nothing, later members do not see it, and its claim is withdrawn in the same transaction; it
   refuses only itself. A group of one needs no savepoint (its refusal rolls the transaction back).
3. **Order.** Members are taken in arrival order and judged in that order, each on the state its
   predecessors left: an endpoint that reads and then writes sees the uncommitted rows of the
   members before it in the group, exactly as if they had committed one after the other. Their
   events follow that order in the log (gapless: a rolled-back savepoint consumed no number).
4. **All or nothing.** If the transaction fails — the commit, a statement outside any member, a
   savepoint that cannot be rolled back, a lost connection (a 503 for every member), the committer
   cancelled at shutdown (a 503 for every member of the group and every one still waiting), a crash —
   nothing of the group is written: every member gets the error and its key stays free. No member
   is answered before the commit.
5. **Idempotent (rule 9).** A key completed before replays its response (``Idempotent-Replayed:
   true``); a key used with another request is a 422 — also by the later of two members of one
   group with one key —, the later of two members sending the same request with one key is a 409
   (the earlier one is in flight). A claim is an uncommitted row of its group's
   transaction, so no grouped request is ever seen in flight by another: a retry sent while its
   first attempt's group commits (in a later group of this process, or a group of another worker)
   waits on the key's row and then replays the committed response — or, if that group rolled back,
   claims the key itself. A 409 with ``Retry-After`` still answers a retry of an ungrouped write
   still running (an upload).
6. **Each member's own context.** The committer is one task outside the members' requests; each
   generic member's endpoint runs in a task of its own with a copy of its request's contextvars
   (the correlation id, the log context), its own request (``request.state.principal``: the actor
   of its events) — so every event names its own request. The disbursement group carries the
   actor and correlation id in each member's work.
7. **Bounded latency.** A group closes when ``group_commit_max_members`` have joined, or
   ``group_commit_window_seconds`` after its first member (default 0: no waiting — the requests
   that arrive while a group works form the next one, so a lone request pays nothing; it saves
   the claim's transaction of the ungrouped path). ``group_commit_max_members = 1`` disables
   grouping of the generic writes.
8. **The next group overlaps the commit before it.** Once a group's work is done and only its
   COMMIT (the WAL flush) is left, the next group closes and starts in a transaction of its own:
   it claims its keys, then waits for the log's lock — which the group before holds until its
   commit ends — and only then does its members' work, on the state the group before left (as 3
   says); so two groups' work never overlaps and their events follow in the order judged. A
   member to be judged again (see 9) joins the next group still open.
9. **No deadlock between groups.** Every group claims its keys in (scope, key) order, then takes
   the log lock (in the claim's statement, after its last row; a group that claimed no key takes it
   in a statement of its own), then locks rows: the keys it could not claim (to read or take them
   over), its members' rows — the disbursement group the accounts, in id order; so two groups — the generic and the disbursement
   group of one process, or groups of several worker processes (``FUPIN_WORKERS``), which commit
   each their own groups — serialise on the log lock and never wait for each other in a cycle. A
   writer outside any group (a consumer locking a row, then the log) can still deadlock with a
   member; PostgreSQL then aborts one side: a member whose statement was the victim is rolled back
   to its savepoint and judged again in the next group (up to :data:`ATTEMPTS` times) — it is not
   answered until then. So is a member whose prepared statement a migration outdated
   (:func:`shared.db.is_stale_statement`), and so is every member of a group that failed as a
   whole on such an error (the disbursement group posts all its members in one statement; nothing
   was written and every key is free). A member still a victim after the last attempt is
   answered 503 with ``Retry-After`` (nothing of it was written), never 500.

Counted: ``fupin_group_commits_total{service, group, outcome}`` (committed, refused — a lone
member's rollback —, failed) and ``fupin_group_commit_members_total{service, group}``.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from fastapi import Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import is_contention, is_stale_statement, is_unavailable
from shared.errors import Conflict, ServiceUnavailable, Unprocessable
from shared.events.store import LOCK_EXPRESSION, held_tail, keep_tail, lock_log, log_locked, took_lock
from shared.metrics import GROUP_COMMITS, GROUP_MEMBERS
from shared.web.problems import contended
from shared.web.idempotency import HEADER, LEASE_SECONDS, REPLAYED, _KEPT_HEADERS, _scope, request_hash

#: A member's outcome: a response (2xx: its work is kept; otherwise refused) or the exception it raised.
Outcome = Response | Exception
#: ``apply(session, works)``: one outcome per work, in order.
Apply = Callable[[AsyncSession, list[Any]], Awaitable[list[Outcome]]]
#: How often a member is judged again in a later group after a deadlock or serialization failure.
ATTEMPTS = 3

#: The keys claimed and then, if any was, the log's lock — one statement, one round trip (see 1, 9):
#: the keys (scopes, keys) it claimed and whether it took the lock. The lock is taken in the top
#: level's target list, over the aggregate of every row the INSERT returned, so the INSERT has run to
#: completion — each key inserted in (scope, key) order, each conflict with another transaction's
#: uncommitted claim waited for — before the one output row is projected and the lock taken: the
#: lock order of 9 holds. (In a CTE or a subquery of its own the call could run first, as an
#: InitPlan, before any key was claimed.) The CASE, unlike AND, is evaluated in order. The tail is
#: not read here: this statement's snapshot is older than the lock (shared.events.store, 2 and 5).
_CLAIM = text(
    "WITH claimed AS ("
    "  INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, owner, locked_until) "
    "  SELECT c.scope, c.key, c.method, c.path, c.digest, 'in_flight', :owner, now() + make_interval(secs => :lease) "
    "  FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:methods AS text[]), CAST(:paths AS text[]), "
    "              CAST(:digests AS text[])) AS c(scope, key, method, path, digest) "
    "  ORDER BY c.scope, c.key "  # one lock order for every group: concurrent groups of two workers cannot deadlock
    "  ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key) "
    "SELECT k.scopes, k.keys, "
    f"      CASE WHEN cardinality(k.keys) > 0 THEN {LOCK_EXPRESSION} IS NOT NULL ELSE false END AS locked "
    "FROM (SELECT coalesce(array_agg(scope), '{}') AS scopes, coalesce(array_agg(key), '{}') AS keys "
    "      FROM claimed) AS k"
)
_EXISTING = text(
    "SELECT k.scope, k.key, k.request_hash, k.state, k.status_code, k.response_headers, k.response_body, "
    "       k.locked_until < now() AS expired "
    "FROM idempotency_keys AS k JOIN unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS c(scope, key) "
    "  ON k.scope = c.scope AND k.key = c.key ORDER BY k.scope, k.key FOR UPDATE OF k"
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
    attempts: int = 0

    @property
    def identity(self) -> tuple[str | None, str] | None:
        return (self.scope, self.key) if self.key is not None else None


@dataclass(eq=False)
class Call:
    """The work of a member of the generic group: its request's endpoint (FastAPI's handler:
    dependencies, endpoint function, response model), run in the request's own context."""

    request: Request
    endpoint: Callable[[Request], Awaitable[Response]]
    context: contextvars.Context


class _Alone(Exception):
    """A group's only member was refused: the whole transaction (its claim too) rolls back."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


class GroupCommit:
    """Coalesces concurrent :meth:`join` calls into groups, each one transaction (see module)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], apply: Apply, *, service: str = "?",
                 name: str = "writes", max_members: int = 64, window: float = 0.0):
        self.sessionmaker, self.apply = sessionmaker, apply
        self.service, self.name = service, name
        self.max_members, self.window = max_members, window
        self.waiting: list[Member] = []
        self.committer: asyncio.Task | None = None
        self.in_flight: set[asyncio.Task] = set()  # the groups started and not yet answered (see module, 8)
        self.groups = 0  # committed groups (for tests; the metric is fupin_group_commits_total)

    @classmethod
    def of(cls, request: Request, name: str, apply: Apply) -> GroupCommit:
        """The app's group for ``name`` (made on first use, sized by the service's settings)."""
        state = request.app.state
        if getattr(state, "group_commits", None) is None:
            state.group_commits = {}
        if name not in state.group_commits:
            settings = state.settings
            state.group_commits[name] = cls(state.sessionmaker, apply, service=settings.service, name=name,
                                            max_members=settings.group_commit_max_members,
                                            window=settings.group_commit_window_seconds)
        return state.group_commits[name]

    async def submit(self, request: Request, work: Any) -> Response:
        """Join the next group with ``work`` from an endpoint whose dependencies authorised the
        caller (its scope: ``request.state.principal``); the member's response once its group
        committed, or its problem raised."""
        key = request.headers.get(HEADER)
        digest = scope = None
        if key is not None:
            scope = await _scope(request)
            digest = request_hash(request.method, request.url.path, request.url.query, await request.body())
        return await self.join(Member(work, scope, key, request.method, request.url.path, digest))

    async def join(self, member: Member) -> Response:
        self.waiting.append(member)
        GROUP_MEMBERS.labels(self.service, self.name).inc()
        self._start()
        return await asyncio.shield(member.answer)  # a client gone does not cancel its group

    def _start(self) -> None:
        if self.committer is None or self.committer.done():
            self.committer = asyncio.create_task(self._commit_all())

    async def _commit_all(self) -> None:
        """Start groups while members wait, each once the group before has only its commit left
        (see module, 8); ends when none wait (a new member starts it again). If the committer is
        cancelled (the server shutting down), every member still waiting is answered 503 — none of
        their keys was claimed — and the groups in flight are cancelled (each answers its members
        503): none is left without an answer."""
        try:
            while self.waiting:
                if self.window and len(self.waiting) < self.max_members:
                    await asyncio.sleep(self.window)
                group, self.waiting = self.waiting[:self.max_members], self.waiting[self.max_members:]
                committing = asyncio.get_running_loop().create_future()
                task = asyncio.create_task(self._commit(group, committing))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                await asyncio.wait((task, committing), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            waiting, self.waiting = self.waiting, []
            for member in waiting:
                if not member.answer.done():
                    member.answer.set_exception(_stopped())
            for task in list(self.in_flight):
                task.cancel()
            raise

    async def _commit(self, group: list[Member], committing: asyncio.Future) -> None:
        """One group's transaction; ``committing`` is set once only its COMMIT is left (the next
        group may start: it waits for the log's lock, held until this commit ends)."""
        owner = str(uuid.uuid4())
        answers: dict[Member, Outcome] = {}
        live: list[Member] = []
        outcome = "committed"
        try:
            async with self.sessionmaker() as session:
                try:
                    async with session.begin():
                        answers = await _claim(session, group, owner)  # and the log's lock, if it claimed
                        live = [m for m in group if m not in answers]
                        if live and not log_locked(session):  # keys, the log, then rows (see module, 9)
                            await lock_log(session)
                        outcomes = await self.apply(session, [m.work for m in live]) if live else []
                        if len(outcomes) != len(live):
                            raise RuntimeError("a group's apply must answer every member")
                        answers.update(zip(live, outcomes))
                        done = [m for m in live if _succeeded(answers[m])]
                        await _complete(session, [(m, answers[m]) for m in done if m.key is not None], owner)
                        await _withdraw(session, [m for m in live if m not in done and m.key is not None], owner)
                        if not committing.done():
                            committing.set_result(None)  # the next group may claim while this one commits
                except _Alone as alone:  # rolled back: the member's claim and work are gone
                    answers[live[0]] = alone.outcome
                    outcome = "refused"
        except BaseException as error:
            GROUP_COMMITS.labels(self.service, self.name, "failed").inc()
            if not isinstance(error, Exception):  # the committer cancelled (shutdown): a 503, not a cancellation
                for member in group:
                    if not member.answer.done():
                        member.answer.set_exception(_stopped())
                raise
            # the whole group failed: nothing was written and every key is free; a transient error
            # (a deadlock, a statement a migration outdated) judges every member again (see 9)
            unavailable = _unavailable_in(error)  # a rollback that failed hides the lost connection
            answers = dict.fromkeys(group, unavailable if isinstance(unavailable, Exception) else error)
        else:
            GROUP_COMMITS.labels(self.service, self.name, outcome).inc()
            if outcome == "committed":
                self.groups += 1
        self._answer(group, answers)

    def _answer(self, group: list[Member], answers: dict[Member, Outcome]) -> None:
        """Each member its outcome — or, after a transient error, a place in the next group."""
        again = []
        for member in group:
            answer = answers[member]
            if isinstance(answer, Exception) and _transient(answer) and member.attempts + 1 < ATTEMPTS:
                member.attempts += 1  # judged again in the next group (see 9)
                again.append(member)
            elif isinstance(answer, Exception):  # a deadlock still after ATTEMPTS: nothing written, retry later
                member.answer.set_exception(contended() if is_contention(answer) else answer)
            else:
                member.answer.set_result(answer)
        if again:
            self.waiting[:0] = again
            self._start()  # the committer may have ended meanwhile (see module, 8)


async def run_endpoints(session: AsyncSession, calls: list[Call]) -> list[Outcome]:
    """The generic group's work: the log's tail read (under the lock the group took), then each
    member's endpoint in arrival order on the group's session,
    each inside its own SAVEPOINT — released if it answered 2xx, rolled back if it answered
    otherwise or raised (a refused member leaves nothing, and later members do not see it). A
    group of one needs no savepoint: its refusal rolls the whole transaction back."""
    await lock_log(session)  # the tail, read once (the group took the lock): members append after it
    if len(calls) == 1:
        alone = await _run(session, calls[0])
        if not _succeeded(alone):
            raise _Alone(alone)
        return [alone]
    outcomes: list[Outcome] = []
    for call in calls:
        pending = session.info.setdefault("fupin_pending_events", [])
        counted = len(pending)
        before = held_tail(session)
        savepoint = await session.begin_nested()
        outcome = await _run(session, call)
        if _succeeded(outcome):
            after = held_tail(session)
            await savepoint.commit()
            keep_tail(session, after)  # its events stay: the next member appends after them
        else:
            await savepoint.rollback()  # fails (and fails the group) only if the connection is gone
            keep_tail(session, before)  # its events are gone: the tail is the one before it
            del pending[counted:]  # its events are not counted as appended
        outcomes.append(outcome)
    return outcomes


async def _run(session: AsyncSession, call: Call) -> Outcome:
    call.request.state.session = session
    try:  # a task of its own: the member's contextvars (correlation id, log context) are its own
        return await asyncio.create_task(_endpoint(call), context=call.context)
    except Exception as error:  # a refusal or an error of this member alone; cancellation fails the group
        if is_unavailable(error):
            raise  # the connection is gone: nothing of the group can commit (a 503 for every member)
        return error
    finally:
        call.request.state.session = None


async def _endpoint(call: Call) -> Response:
    """The endpoint with dependency exit stacks of its own task (FastAPI keeps them in the request's
    scope; a dependency's teardown must run in the task that entered it): the dependencies are torn
    down once the response is built, before the group commits."""
    scope = call.request.scope
    outer = scope.get("fastapi_inner_astack"), scope.get("fastapi_function_astack")
    try:
        async with AsyncExitStack() as inner:
            scope["fastapi_inner_astack"] = inner
            async with AsyncExitStack() as function:
                scope["fastapi_function_astack"] = function
                return await call.endpoint(call.request)
    finally:
        scope["fastapi_inner_astack"], scope["fastapi_function_astack"] = outer


def _succeeded(outcome: Outcome) -> bool:
    return isinstance(outcome, Response) and outcome.status_code < 400


def _unavailable_in(error: BaseException) -> BaseException | None:
    """An exception anywhere in ``error``'s chains (cause, context, driver error) that means the
    database is unavailable."""
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if is_unavailable(current):
            return current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return None


def _transient(error: BaseException | None) -> bool:
    """A deadlock, a serialization failure or a statement prepared before a migration: the same
    request run again (in a later transaction) may well succeed."""
    return is_stale_statement(error) or is_contention(error)


async def _claim(session: AsyncSession, group: Sequence[Member], owner: str) -> dict[Member, Outcome]:
    """Claim every member's key and, if any was claimed, take the log's lock, in one statement
    (:data:`_CLAIM`); the answers of the members that may not proceed (a replay, a 422, a 409). The
    claims are rows of this transaction: no one sees them in flight. The keys claimed before are
    then read (and locked) under the log's lock."""
    answers: dict[Member, Outcome] = {}
    first: dict[tuple[str | None, str], Member] = {}
    for member in group:
        if member.identity is None:
            continue
        if member.identity in first:  # as the ungrouped claim: another request → 422, the same → 409
            earlier = first[member.identity]
            answers[member] = _in_flight(member.key) if earlier.digest == member.digest else _reused(member.key)
        else:
            first[member.identity] = member
    if not first:
        return answers
    [made] = await session.execute(_CLAIM, dict(
        owner=owner, lease=LEASE_SECONDS, **_columns(first.values(), "scope", "key", "method", "path", "digest")))
    if made.locked:
        took_lock(session)  # the tail is read by the next statement that needs it
    claimed = set(zip(made.scopes, made.keys))
    others = {identity: m for identity, m in first.items() if identity not in claimed}
    if not others:
        return answers
    existing = await session.execute(_EXISTING, _columns(others.values(), "scope", "key"))
    rows = {(r["scope"], r["key"]): r for r in existing.mappings()}
    expired = []
    for identity, member in others.items():
        row = rows[identity]
        if row["request_hash"] != member.digest:
            answers[member] = _reused(member.key)
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


async def _complete(session: AsyncSession, done: Sequence[tuple[Member, Outcome]], owner: str) -> None:
    responses = [(m, r) for m, r in done if isinstance(r, Response)]
    if responses:
        await session.execute(_COMPLETE, dict(
            owner=owner, **_columns([m for m, _ in responses], "scope", "key"),
            statuses=[r.status_code for _, r in responses],
            headers=[json.dumps({k: v for k, v in r.headers.items() if k.lower() in _KEPT_HEADERS})
                     for _, r in responses],
            bodies=[bytes(r.body) for _, r in responses]))


async def _withdraw(session: AsyncSession, refused: Sequence[Member], owner: str) -> None:
    if refused:
        await session.execute(_WITHDRAW, dict(owner=owner, **_columns(refused, "scope", "key")))


def _columns(members, *names: str) -> dict[str, list]:
    return {f"{name}s": [getattr(m, name) for m in members] for name in names}


def _reused(key: str | None) -> Unprocessable:
    return Unprocessable(f"幂等键已用于另一请求 (Idempotency-Key {key!r} was used with a different request)",
                         errors=[{"field": HEADER, "reason": "reused with a different method, path or body"}])


def _stopped() -> ServiceUnavailable:
    return ServiceUnavailable("服务正在停止，请重试 (the service is stopping; nothing of this request was written)",
                              headers={"Retry-After": "1"})


#: What the later of two identical members of one group is told to wait: the earlier one is answered
#: when their group commits, after which a retry replays its response.
IN_FLIGHT_RETRY_SECONDS = 1


def _in_flight(key: str | None) -> Conflict:
    return Conflict(f"同一幂等键的请求正在处理 (a request with Idempotency-Key {key!r} is in flight)",
                    headers={"Retry-After": str(IN_FLIGHT_RETRY_SECONDS)})
