"""Posting to the ledger in the caller's transaction: the domain judges each posting, the accounts
whose balances it judges are locked (in id order, so opposite postings cannot deadlock), the events
are appended and the posting rows inserted — the database trigger then moves the balances, once
per statement and account, and its CHECK is the last line of defence against a negative balance.

Locks. Every non-external account a posting touches is locked ``FOR UPDATE`` in id order before
the balances are judged. External accounts (``appropriation``, ``disbursed``) have no lower bound,
so nothing is judged on them and they are not locked up front: the trigger's UPDATE locks them,
and it runs after :func:`record` took the event log's advisory lock (``lock_log``), so those
updates are serialised by that lock and cannot deadlock (no transaction ever holds an external
account's row while waiting for the log). New accounts are opened before any row is locked, in a fixed order.

The two orders of the log's lock and the accounts'. A posting of its own (:func:`post_many`,
:func:`post`: a consumer, a scheduler) locks its accounts when it judges and the log when it
records: accounts, then the log. A group commit (``shared.web.group_commit``) takes the log's lock
first, with its keys' claim: the log, then the accounts — the disbursement group in its one
look-up (:func:`look_up`: the bounded accounts in id order, FOR UPDATE, their balances the ones
judged), or, if an account has to be opened first, in :func:`judge` as any posting. Between a
group and a posting of its own PostgreSQL may then find a deadlock and abort one of them; the group
runs its members again (that module's guarantee 9). Among groups, and among postings of their own,
there is one order.

Batches. :func:`judge` decides everything without writing; :func:`record` writes the accepted
postings: under the log's lock, the posting rows (COPY for large batches, while Python prepares
the events) and then the events (one per posting, or whatever the caller groups them into: a
disbursement batch uses ``funds.disbursement.batch_posted`` events of many postings each, see
:mod:`services.funds.contract`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import EVENT_TYPES
from services.funds.domain import AccountKey, Ledger, Posting, check_posting, check_sufficient
from services.funds.domain.ledger import EXTERNAL_KINDS, Holding, books_written, check_year_open, holdings_of
from services.funds.models import accounts, postings
from services.funds.usecases.accounts import account_key
from shared.bulk import uuid7s
from shared.db import fetch, raw_connection
from shared.errors import Conflict, Problem, Unprocessable
from shared.events import NewEvent, append
from shared.events.schema import events
from shared.events.store import TAIL, held_tail, lock_log, log_locked, prepare, tail_read
from shared.events.store import now as log_now
from shared.money import format_fen
from shared.policy import load_policy
from shared.policy.citations import public_citation

#: From this many postings on, the rows are written with COPY instead of an INSERT per row.
COPY_THRESHOLD = 32

_POSTING_COLUMNS = ("id", "event_seq", "operation", "from_account", "to_account", "amount_fen", "document_no",
                    "document_date", "purpose", "reference", "line_ref", "actor", "posted_at")
_INSERT_POSTING = (f"INSERT INTO postings ({', '.join(_POSTING_COLUMNS)}) "
                   f"VALUES ({', '.join(f'${i}' for i in range(1, len(_POSTING_COLUMNS) + 1))})")


# -- posting ids ------------------------------------------------------------------------------------


#: posting ids, many at a time (see shared.bulk)
new_posting_ids = uuid7s


# -- account keys ---------------------------------------------------------------------------------


# The bulk statements run on the asyncpg connection under the session (see :func:`_connection`):
# thousands of result rows as asyncpg records, not SQLAlchemy rows. Keys travel as one JSON text.
_GROUPS = ("jsonb_to_recordset($1::text::jsonb) AS g(n INTEGER, d TEXT, r TEXT, c TEXT, y INTEGER, k TEXT, refs JSONB) "
           "CROSS JOIN LATERAL jsonb_array_elements_text(g.refs) WITH ORDINALITY AS x(ref, i)")
#: each key of :data:`_GROUPS` and its account ``a`` (none: not opened yet) — one index probe per key
#: (LIMIT 1: not a hash join over all accounts)
_ACCOUNTS_FOUND = (f"{_GROUPS} CROSS JOIN LATERAL (SELECT id FROM accounts WHERE "
                   "division = CAST(g.d AS CHAR(12)) AND role = g.r AND channel = g.c AND fiscal_year = g.y "
                   "AND kind = g.k AND reference = x.ref LIMIT 1) AS a")
_FIND = f"SELECT g.n, x.ref, a.id FROM {_ACCOUNTS_FOUND}"
_INSERT_ACCOUNTS = ("INSERT INTO accounts (division, role, channel, fiscal_year, kind, reference) "  # in the order
                    f"SELECT CAST(g.d AS CHAR(12)), g.r, g.c, g.y, g.k, x.ref FROM {_GROUPS} ORDER BY g.n, x.i")  # sent
_RETURNING = " RETURNING id, division, role, channel, fiscal_year, kind, reference"
_OPEN = _INSERT_ACCOUNTS + _RETURNING
_OPEN_IF_ABSENT = _INSERT_ACCOUNTS + " ON CONFLICT ON CONSTRAINT accounts_key DO NOTHING" + _RETURNING
#: From this many accounts to open on, a plain INSERT in a savepoint (a unique-key probe less per
#: account than ON CONFLICT's), falling back to ON CONFLICT DO NOTHING if another transaction
#: opened one of them meanwhile.
OPEN_PLAIN_THRESHOLD = 32
_group_of = attrgetter("division", "role", "channel", "fiscal_year", "kind")
AccountRef = tuple  # (division, role, channel, fiscal_year, kind, reference or "") — an account's key columns


def account_ref(key: AccountKey) -> AccountRef:
    return (*_group_of(key), key.reference or "")


async def _connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction: SQLAlchemy's
    adapter begins it lazily, on its first statement, so one is run first if none was."""
    async with raw_connection(session) as conn:
        if not conn.is_in_transaction():
            await session.execute(text("SELECT 1"))
        return conn


def _payload(refs_by_group: Mapping[tuple, Iterable[str]]) -> tuple[list[tuple], str]:
    """Keys grouped by all but their reference (a batch's payees share one group), as one JSON
    text: the same statement for one key or a hundred thousand, one index probe per key."""
    numbered = list(refs_by_group)
    return numbered, json.dumps([
        {"n": n, "d": g[0], "r": g[1], "c": g[2], "y": g[3], "k": g[4], "refs": list(refs_by_group[g])}
        for n, g in enumerate(numbered)], ensure_ascii=False)


async def _lookup(session: AsyncSession, refs_by_group: Mapping[tuple, Iterable[str]]) -> dict[AccountRef, int]:
    """The ids of the accounts that exist (one statement)."""
    numbered, groups = _payload(refs_by_group)
    return {(*numbered[n], ref): account for n, ref, account in await fetch(session, _FIND, groups)}


def _grouped(refs: Iterable[AccountRef]) -> dict[tuple, list[str]]:
    """Keys by group, groups and references sorted: transactions opening the same new accounts
    then insert them in the same order, and wait for one another instead of deadlocking."""
    groups: dict[tuple, list[str]] = {}
    for ref in refs:
        groups.setdefault(ref[:5], []).append(ref[5])
    return {group: sorted(groups[group]) for group in sorted(groups)}  # = sorting the whole keys, 3× cheaper


async def _resolve(session: AsyncSession, refs: Iterable[AccountRef], *, found: Mapping[AccountRef, int] | None = None,
                   looked_up: frozenset | set = frozenset()) -> dict[AccountRef, int]:
    """The ids of the accounts, opening those used for the first time (balance 0). ``found`` and
    ``looked_up`` are what an earlier look-up found and searched for (see :func:`prefetch`)."""
    out = dict(found or {})
    wanted = [ref for ref in dict.fromkeys(refs) if ref not in out]
    unknown = [ref for ref in wanted if ref not in looked_up]
    if unknown:
        out.update(await _lookup(session, _grouped(unknown)))
    absent = [ref for ref in wanted if ref not in out]
    if absent:
        conn = await _connection(session)
        groups = _payload(_grouped(absent))[1]
        rows = None
        if len(absent) >= OPEN_PLAIN_THRESHOLD:
            try:
                async with conn.transaction():  # a savepoint
                    rows = await conn.fetch(_OPEN, groups)
            except asyncpg.UniqueViolationError:  # one of them was opened by a concurrent transaction
                rows = None
        if rows is None:
            rows = await conn.fetch(_OPEN_IF_ABSENT, groups)
        out.update((tuple(row[1:]), row[0]) for row in rows)
        absent = [ref for ref in absent if ref not in out]
        if absent:  # opened and committed by another transaction since the look-up
            out.update(await _lookup(session, _grouped(absent)))
            if any(ref not in out for ref in absent):  # pragma: no cover - an account cannot vanish
                raise RuntimeError("accounts neither found nor opened")
    return out


async def account_ids(session: AsyncSession, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """The ids of the accounts, opening those used for the first time (balance 0)."""
    keys = list(keys)
    resolved = await _resolve(session, [account_ref(key) for key in keys]) if keys else {}
    return {key: resolved[account_ref(key)] for key in keys}


async def account_id(session: AsyncSession, key: AccountKey) -> int:
    """The account's id, opening it (balance 0) on first use."""
    return (await account_ids(session, [key]))[key]


# -- posting ---------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """A posting to make, with what its event carries besides the posting and its line reference.
    (A named tuple: a batch builds one per line, at a third of a frozen dataclass's cost.)"""

    posting: Posting
    extra: Mapping[str, Any] | None = None
    line_ref: str | None = None


@dataclass
class Judgement:
    """What :func:`judge` decided: nothing is written yet."""

    accepted: list[int]  # positions of the entries to post, in order
    refused: list[dict[str, Any]]  # {index, line_ref, code, reason, error}
    already_posted: list[int]  # positions whose line reference was posted before (idempotent retry)
    accounts: dict[int, tuple[int, int]] = field(repr=False)  # position → (from account id, to account id)
    #: the year-end closes were read while the transaction held the log's lock (a close takes it
    #: too, so none can come between the judgement and :func:`record` if it still holds it)
    books_read_under_log: bool = False


@dataclass
class Outcome:
    events: list[dict[str, Any]]
    refused: list[dict[str, Any]]  # {index, line_ref, code, reason, error}
    already_posted: list[int]  # indexes whose line reference was posted before (idempotent retry)
    posted: list[int] = field(default_factory=list)  # indexes of the entries posted, in order


EventsFor = Callable[[list[int]], Sequence[tuple[NewEvent, Sequence[int]]]]
"""Given the positions of the accepted entries (in order), the events that record them: each event
with the positions of the entries it carries (every accepted entry in exactly one event)."""


def _refusal(index: int, entry: Entry, error: Exception) -> dict[str, Any]:
    return {"index": index, "line_ref": entry.line_ref, "code": getattr(error, "code", "refused"),
            "reason": str(error), "error": error}


#: each line reference of $2 (JSON) posted before, as ``p.line_ref`` — one index probe per reference
_POSTED_BEFORE = ("json_array_elements_text($2::text::json) AS r(ref) "
                  "CROSS JOIN LATERAL (SELECT line_ref FROM postings WHERE line_ref = r.ref LIMIT 1) AS p")
_PREFETCH = (  # the line references posted before (n = -1) and the accounts that exist, in one statement
    f"{_FIND} UNION ALL SELECT -1, p.line_ref, NULL FROM {_POSTED_BEFORE}")
_LOCK = "SELECT id, balance_fen FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"


@dataclass
class Prefetch:
    """What :func:`judge` reads before judging, looked up ahead (see :func:`prefetch`, :func:`look_up`)."""

    line_refs: frozenset[str]  # the line references it covers
    done: set[str]  # those of them posted before
    accounts: dict[AccountRef, int]  # the accounts found (or opened)
    looked_up: set[AccountRef]  # the accounts searched for (found or not)
    #: the year-end closes of the fiscal years of the entries looked up, by holding (None: not read)
    closes: dict[Holding, Mapping[str, Any]] | None = None
    closes_read_under_log: bool = False  # read while the transaction held the log's lock
    #: the bounded accounts locked FOR UPDATE in id order, with their balances (None: not looked up)
    balances: dict[int, int] | None = None
    #: the rows of the caller's own parts of the look-up (see :func:`look_up`)
    others: list[Sequence[Any]] = field(default_factory=list)


#: One row shape for every part of :data:`_LOOK_UP`, its column types fixed by its first part:
#: (part, n int, a text, b bpchar, c text, x bigint, y bigint, d date, f1 bool, f2 bool, f3 bool)
_NULLS = {"n": "NULL::int", "a": "NULL::text", "b": "NULL::bpchar", "c": "NULL::text", "x": "NULL::bigint",
          "y": "NULL::bigint", "d": "NULL::date", "f1": "NULL::bool", "f2": "NULL::bool", "f3": "NULL::bool"}


def look_up_part(part: str, source: str, **columns: str) -> str:
    """A part of :data:`_LOOK_UP`: ``SELECT '<part>', <columns or NULL> <source>`` (a caller's own
    parts use other letters than the ledger's ``a b l c t``, and parameters from ``$7`` on)."""
    return (f"SELECT '{part}'::text, "
            + ", ".join(columns.get(name, null) for name, null in _NULLS.items()) + f" {source}")


#: where each column named in :func:`look_up_part` comes in a look-up row (0 is the part's letter)
_COLUMN = {name: index for index, name in enumerate(_NULLS, start=1)}


def columns_of(row: Sequence[Any], *names: str) -> tuple[Any, ...]:
    """The columns of a look-up row by the names its part gave them (:func:`look_up_part`)."""
    return tuple(row[_COLUMN[name]] for name in names)


#: Everything a group of postings reads before it is judged, in one statement (one round trip):
#: $1 the account keys (as :data:`_FIND`), $2 the line references (JSON), $3 the fiscal years of the
#: books written, $4 whether to read the log's tail, $5 the external kinds, $6 how many keys $1
#: holds. Parts: ``a`` an account found (n, ref, id); ``b`` a bounded account locked FOR UPDATE, in
#: id order, with its balance (id, balance) — only if every key was found (else none: new accounts
#: are opened before any row is locked, and then all bounded ones locked in id order, in :func:`judge`);
#: ``l`` a line reference posted before; ``c`` a year-end close (fiscal year, role, division,
#: document no., seq, document date); ``t`` the log's tail (seq, hash) — read here only under a
#: lock taken by an earlier statement (shared.events.store, 5). The locks: a FOR UPDATE with ORDER BY
#: locks its rows in that order, as it returns them, and UNION ALL reads every part to its end; a
#: row updated since the statement's snapshot is locked and returned as committed (its balance
#: then, not the snapshot's).
_LOOK_UP = (
    f"WITH found AS MATERIALIZED (SELECT g.n, x.ref, a.id, g.k FROM {_ACCOUNTS_FOUND}), "
    "locked AS (SELECT id, balance_fen FROM accounts WHERE id = ANY (ARRAY("
    "  SELECT id FROM found WHERE k <> ALL($5::text[]) AND (SELECT count(*) FROM found) = $6)) "
    "  ORDER BY id FOR UPDATE) "
    + look_up_part("a", "FROM found", n="n", a="ref", x="id")
    + " UNION ALL " + look_up_part("b", "FROM locked", x="id", y="balance_fen")
    + " UNION ALL " + look_up_part("l", f"FROM {_POSTED_BEFORE}", a="p.line_ref")
    + " UNION ALL " + look_up_part("c", "FROM year_closes WHERE fiscal_year = ANY($3::int[])", n="fiscal_year",
                                   a="role", b="division", c="document_no", x="event_seq", d="document_date")
    + " UNION ALL " + look_up_part("t", f"FROM ({TAIL}) AS t WHERE $4", a="hash", x="seq")
)


async def prefetch(session: AsyncSession, line_refs: Sequence[str], refs_by_group: Mapping[tuple, Iterable[str]], *,
                   open_missing: bool = False) -> Prefetch:
    """The look-ups of :func:`judge` that need only the lines, not their postings: which line
    references were posted before, and which of the accounts exist (one statement). With
    ``open_missing`` the missing accounts are opened too (balance 0), before the postings are
    judged — a batch does this while it builds its postings; the account of a line refused then
    stays at zero (as that of a line refused for insufficient funds always did), and a batch
    refused as a whole rolls back."""
    refs = list(line_refs)
    groups = {group: list(dict.fromkeys(group_refs)) for group, group_refs in refs_by_group.items()}
    numbered, payload = _payload(groups)
    done, accounts = set(), {}
    many = len(refs) + sum(len(group_refs) for group_refs in groups.values()) > COPY_THRESHOLD
    for n, ref, account in await fetch(session, _PREFETCH, payload, json.dumps(refs, ensure_ascii=False), many=many):
        if n < 0:
            done.add(ref)
        else:
            accounts[(*numbered[n], ref)] = account
    looked_up = {(*g, ref) for g, group_refs in groups.items() for ref in group_refs}
    if open_missing and len(accounts) < len(looked_up):
        accounts = await _resolve(session, looked_up, found=accounts, looked_up=looked_up)
    return Prefetch(frozenset(refs), done, accounts, looked_up)


async def look_up(session: AsyncSession, entries: Sequence[Entry], *, also: str = "",
                  also_args: Sequence[Any] = ()) -> Prefetch:
    """What :func:`judge` reads of ``entries`` — the lines posted before, the accounts that exist,
    the year-end closes — with their bounded accounts locked and their balances, and the log's tail
    if the transaction took the log's lock without reading it: one statement (:data:`_LOOK_UP`),
    ``also`` the caller's own parts (``UNION ALL`` …, :func:`look_up_part`, parameters ``also_args``
    from ``$7`` on), whose rows come back in ``others``.

    Locks: the bounded accounts are locked in id order, after the log's lock if the transaction
    holds it (a group commit takes it first): the order of :func:`judge` under a group, the log and
    then the accounts. Only if every account exists: new accounts are opened before any row is
    locked (see the module), so :func:`judge` then opens them and locks the bounded ones, as before."""
    refs = list(dict.fromkeys(e.line_ref for e in entries if e.line_ref is not None))  # (twice: post_each's 409)
    groups: dict[tuple, dict[str, None]] = {}
    for entry in entries:
        for key in (entry.posting.from_, entry.posting.to):
            if isinstance(key, AccountKey):
                groups.setdefault(_group_of(key), {})[key.reference or ""] = None
    numbered, payload = _payload(groups)
    years = sorted({year for _, _, year in books_written(entry.posting for entry in entries)})
    under_log = log_locked(session)
    read_tail = under_log and held_tail(session) is None
    done, accounts, balances, closes, others = set(), {}, {}, [], []
    tail: Sequence[Any] | None = None
    for row in await fetch(session, _LOOK_UP + also, payload, json.dumps(refs, ensure_ascii=False), years, read_tail,
                           sorted(EXTERNAL_KINDS), sum(map(len, groups.values())), *also_args):
        part = row[0]
        if part == "a":
            accounts[(*numbered[row[1]], row[2])] = row[5]
        elif part == "b":
            balances[row[5]] = row[6]
        elif part == "l":
            done.add(row[2])
        elif part == "c":
            closes.append((row[3], row[2], row[1], row[5], row[4], row[7]))
        elif part == "t":
            tail = row
        else:
            others.append(row)
    if read_tail:
        tail_read(session, tail[5] if tail else None, tail[2] if tail else None)
    looked_up = {(*g, ref) for g, group_refs in groups.items() for ref in group_refs}
    return Prefetch(frozenset(refs), done, accounts, looked_up, closes=_closes(closes),
                    closes_read_under_log=under_log, balances=balances, others=others)


async def judge(session: AsyncSession, entries: Sequence[Entry], prefetched: Prefetch | None = None, *,
                screened: Mapping[int, Exception] | None = None) -> Judgement:
    """Judge a batch in the caller's transaction without writing postings or events: the domain's
    rules for each entry (:func:`check_posting`), then, against the balances of the accounts locked
    in id order, each accepted entry in order (:func:`check_sufficient`). An entry whose line
    reference was posted before is set aside as already done. The accounts of the entries the
    domain accepts are opened if new. ``prefetched`` from :func:`look_up`: its year-end closes are
    the ones judged, and if it locked every bounded account judged, its balances (else they are
    locked here, after any account is opened).

    ``screened``: the caller ran :func:`check_posting` on every entry already; these are the
    positions it refused, with the domain's error."""
    refs = distinct_line_refs(entries)
    if prefetched is None or not prefetched.line_refs.issuperset(refs):
        groups: dict[tuple, list[str]] = {}
        for entry in entries:
            for key in (entry.posting.from_, entry.posting.to):
                if isinstance(key, AccountKey):
                    groups.setdefault(_group_of(key), []).append(key.reference or "")
        prefetched = await prefetch(session, refs, groups)
    already, candidates, refused = _sort_out(entries, prefetched.done, screened)
    if prefetched.closes is not None:  # read with the look-ups
        under_log = prefetched.closes_read_under_log
        closed = _closed_in(prefetched.closes, (entries[index].posting for index in candidates))
    else:
        under_log = log_locked(session)
        closed = await _closed_years(session, (entries[index].posting for index in candidates))
    if closed:
        candidates = _open_books(entries, candidates, closed, refused)
    ids, balances = await _lock_accounts(session, entries, candidates, prefetched)
    accepted, pairs = [], {}
    short = _judge_balances(entries, candidates, ids, balances, accepted, pairs)
    if short:
        # a close that held these rows may have emptied them: then the year closed is the reason
        closed_since = await _closed_years(session, (entries[i].posting for i in candidates))
        for index, reason in short:
            try:
                _check_year_open(entries[index].posting, closed_since)
            except Problem as closed_error:
                reason = closed_error
            refused.append(_refusal(index, entries[index], reason))
    refused.sort(key=lambda r: r["index"])
    return Judgement(accepted=accepted, refused=refused, already_posted=already, accounts=pairs,
                     books_read_under_log=under_log)


def distinct_line_refs(entries: Sequence[Entry]) -> list[str]:
    """The entries' line references; 409 if one appears twice."""
    refs = [e.line_ref for e in entries if e.line_ref is not None]
    if len(set(refs)) != len(refs):
        raise Conflict("同一批次中支付行引用重复 (a line reference appears twice in the batch)", slug="duplicate-line")
    return refs


def _sort_out(entries: Sequence[Entry], done: set[str], screened: Mapping[int, Exception] | None
              ) -> tuple[list[int], list[int], list[dict[str, Any]]]:
    """(posted before, candidates, refused by the domain) — positions, in order."""
    refused: list[dict[str, Any]] = []
    already, candidates = [], []
    for index, entry in enumerate(entries):
        if entry.line_ref in done:
            already.append(index)
            continue
        if screened is None:
            try:
                check_posting(entry.posting)
            except Problem as error:
                refused.append(_refusal(index, entry, error))
                continue
        elif index in screened:
            refused.append(_refusal(index, entry, screened[index]))
            continue
        candidates.append(index)
    return already, candidates, refused


def _open_books(entries: Sequence[Entry], candidates: list[int], closed: Mapping[Holding, Mapping[str, Any]],
                refused: list[dict[str, Any]]) -> list[int]:
    """The candidates whose books are not closed; the others refused (added to ``refused``)."""
    open_ = []
    for index in candidates:
        try:
            _check_year_open(entries[index].posting, closed)
        except Problem as error:
            refused.append(_refusal(index, entries[index], error))
            continue
        open_.append(index)
    return open_


async def _lock_accounts(session: AsyncSession, entries: Sequence[Entry], candidates: list[int],
                         prefetched: Prefetch) -> tuple[dict[int, int], dict[int, int]]:
    """The account ids of the candidates' keys (by ``id()`` of the key object; new accounts opened)
    and the balances of the bounded ones among them, locked in id order."""
    keys: dict[int, AccountKey] = {}  # by object: AccountKey hashes all six fields on every look-up
    for index in candidates:
        p = entries[index].posting
        keys[id(p.from_)] = p.from_
        keys[id(p.to)] = p.to
    found, ids, missing = prefetched.accounts, {}, {}
    bounded_set = set()
    for oid, key in keys.items():
        ref = account_ref(key)
        account = found.get(ref)
        if account is None:
            missing[oid] = ref
        else:
            ids[oid] = account
        if key.kind not in EXTERNAL_KINDS:
            bounded_set.add(oid)
    if missing:
        resolved = await _resolve(session, missing.values(), found=found, looked_up=prefetched.looked_up)
        ids.update((oid, resolved[ref]) for oid, ref in missing.items())
    bounded = sorted({ids[oid] for oid in bounded_set})
    locked = prefetched.balances
    if locked is not None and all(account in locked for account in bounded):  # locked by the look-up
        return ids, {account: locked[account] for account in bounded}
    return ids, (dict(await fetch(session, _LOCK, bounded)) if bounded else {})


def _judge_balances(entries: Sequence[Entry], candidates: Iterable[int], ids: Mapping[int, int],
                    balances: dict[int, int], accepted: list[int], pairs: dict[int, tuple[int, int]]
                    ) -> list[tuple[int, Exception]]:
    """Each candidate in order against the running ``balances`` (:func:`check_sufficient`): the
    accepted appended to ``accepted`` (their account ids to ``pairs``, the balances moved); returns
    the refused, with the domain's error."""
    short: list[tuple[int, Exception]] = []
    for index in candidates:
        p = entries[index].posting
        source, target = pairs[index] = ids[id(p.from_)], ids[id(p.to)]
        if source in balances:
            try:
                check_sufficient(p, balances[source])
            except Problem as error:
                short.append((index, error))
                continue
            balances[source] -= p.amount_fen
        if target in balances:
            balances[target] += p.amount_fen
        accepted.append(index)
    return short


YEAR_CLOSE_RULE = "funds.year_close.books_closed"


_CLOSES = ("SELECT division, role, fiscal_year, event_seq, document_no, document_date FROM year_closes "
           "WHERE fiscal_year = ANY($1::int[])")  # a few rows a year: the holdings are picked in Python


async def _closed_years(session: AsyncSession, posted: Iterable[Posting]) -> dict[Holding, Mapping[str, Any]]:
    """The year-end closes (``year_closes``) of the books the postings write into, by holding."""
    holdings = books_written(posted)
    if not holdings:
        return {}
    rows = await fetch(session, _CLOSES, sorted({year for _, _, year in holdings}))
    return {holding: close for holding, close in _closes(rows).items() if holding in holdings}


def _closes(rows: Iterable[Sequence[Any]]) -> dict[Holding, Mapping[str, Any]]:
    """Rows (division, role, fiscal year, seq, document no., document date) of ``year_closes`` by holding."""
    return {(division, role, year): {"division": division, "role": role, "fiscal_year": year, "event_seq": seq,
                                     "document_no": document_no, "document_date": document_date}
            for division, role, year, seq, document_no, document_date in rows}


def _closed_in(closes: Mapping[Holding, Mapping[str, Any]], posted: Iterable[Posting]) -> dict[Holding, Mapping[str, Any]]:
    """The closes among ``closes`` of the books the postings write into."""
    holdings = books_written(posted)
    return {holding: close for holding, close in closes.items() if holding in holdings}


def _check_year_open(posting: Posting, closed: Mapping[Holding, Mapping[str, Any]]) -> None:
    """Every posting's one check against the year-end closes (结转结余), citing the rule in force
    at the end of the closed year (the shipped table: the rule is a citation, not a figure)."""
    if not holdings_of(posting) & closed.keys():
        return
    division, _, year = min(holdings_of(posting) & closed.keys())
    rule = load_policy().lookup(YEAR_CLOSE_RULE, division, date(year, 12, 31))
    check_year_open(posting, closed, rule_id=rule.id, citation=public_citation(rule.citation) or "")


def _one_event_each(entries: Sequence[Entry], actor_of: Callable[[int], Mapping[str, Any]],
                    correlation_of: Callable[[int], str | None]) -> EventsFor:
    def events(accepted: list[int]) -> list[tuple[NewEvent, Sequence[int]]]:
        out = []
        for index in accepted:
            p, extra = entries[index].posting, entries[index].extra
            out.append((NewEvent(EVENT_TYPES[p.operation], str(p.to), {
                **p.as_dict(), "amount": format_fen(p.amount_fen), "on": p.document_date.isoformat(), **(extra or {})},
                actor_of(index), correlation_id=correlation_of(index)), (index,)))
        return out
    return events


async def record(session: AsyncSession, entries: Sequence[Entry], judgement: Judgement, *,
                 actor: Mapping[str, Any], posted_at: datetime, events: EventsFor | None = None,
                 actors: Sequence[Mapping[str, Any]] | None = None,
                 correlations: Sequence[str | None] | None = None) -> list[dict[str, Any]]:
    """Write the accepted entries of ``judgement``: their events (``events``; default one event per
    posting, version 1) and their rows, each row with the seq of the event that carries it.
    Returns the appended events. ``actors`` / ``correlations``: each entry's own actor and
    correlation id (entries of several requests committed together, :mod:`shared.web.group_commit`),
    else ``actor`` and the context's correlation for all.

    The log is locked first (its tail gives every event its seq), then the posting rows go in; for a
    large batch the rows are copied while the events are prepared (canonical JSON of their data,
    which does not depend on the chain) — PostgreSQL applies the postings while Python serialises
    the events — and the events are appended last, in the same transaction and under the same lock;
    a few postings' events are prepared before the lock is taken (a shorter critical section)."""
    accepted = judgement.accepted
    if not accepted:
        return []
    actor_of = actors.__getitem__ if actors is not None else (lambda index: actor)
    correlation_of = correlations.__getitem__ if correlations is not None else (lambda index: None)
    planned = list((events or _one_event_each(entries, actor_of, correlation_of))(accepted))
    carried = [index for _, positions in planned for index in positions]
    if len(carried) != len(accepted) or set(carried) != set(accepted):
        raise ValueError("the events do not carry every accepted posting exactly once")
    new_events = [event for event, _ in planned]
    small = len(accepted) < COPY_THRESHOLD
    prepared = prepare(session, new_events) if small else []  # before the lock: a shorter critical section
    judged_under_log = judgement.books_read_under_log and log_locked(session)
    tail = await lock_log(session)
    # a year closed since the entries were judged: the close writes its row under the same lock, so
    # if the judgement read the closes under it (a group commit takes it first) none can have come
    closed = {} if judged_under_log else await _closed_years(session, (entries[index].posting for index in accepted))
    for index in accepted if closed else ():
        _check_year_open(entries[index].posting, closed)
    seq_of = {index: tail.seq + number for number, (_, positions) in enumerate(planned, start=1) for index in positions}
    rows = _rows(entries, accepted, seq_of.__getitem__, judgement.accounts, actor_of, posted_at)
    async with raw_connection(session) as conn:
        if small:
            await _write_postings(conn, rows)
        else:
            prepared += await _prepare_while(session, new_events, asyncio.ensure_future(_write_postings(conn, rows)))
    return await append(session, prepared, tail=tail)


def _rows(entries: Sequence[Entry], indexes: Iterable[int], seq_of: Callable[[int], int],
          pairs: Mapping[int, tuple[int, int]], actor_of: Callable[[int], Mapping[str, Any]],
          posted_at: datetime) -> list[tuple]:
    """The posting rows (:data:`_POSTING_COLUMNS`) of the entries at ``indexes``."""
    actor_texts: dict[int, str] = {}
    rows = []
    for index in indexes:
        entry = entries[index]
        p = entry.posting
        source, target = pairs[index]
        who = actor_of(index)
        actor_json = actor_texts.get(id(who)) or actor_texts.setdefault(id(who), json.dumps(dict(who), ensure_ascii=False))
        rows.append((p.posting_id, seq_of(index), p.operation, source, target, p.amount_fen, p.document_no,
                     p.document_date, p.purpose, p.reference, entry.line_ref, actor_json, posted_at))
    return rows


async def _prepare_while(session: AsyncSession, new_events: Sequence[NewEvent], writing: asyncio.Future) -> list:
    """The events prepared (:func:`prepare`) one at a time while ``writing`` runs on the session's
    connection (its I/O in between); returns when both are done, raising ``writing``'s error."""
    prepared: list = []
    try:
        at = log_now(session)
        for event in new_events:
            await asyncio.sleep(0)
            prepared += prepare(session, [event], at=at)
    except BaseException:
        await _settle(writing)
        raise
    await writing
    return prepared


async def _settle(writing: asyncio.Future | None) -> None:
    """Wait for a statement still running on the session, its error seen (the caller's is the one
    reported): never leave a statement running on the session."""
    if writing is not None:
        await asyncio.wait([writing])
        if not writing.cancelled():
            writing.exception()


async def post_overlapped(session: AsyncSession, entries: Sequence[Entry], prefetched: Prefetch, *,
                          screened: Mapping[int, Exception], actor: Mapping[str, Any], posted_at: datetime,
                          events: EventsFor, event_of: Callable[[int], int], chunk: int,
                          all_or_nothing: bool) -> tuple[Judgement, list[dict[str, Any]]]:
    """:func:`judge` then :func:`record` of a large batch, PostgreSQL and Python overlapped: the
    accounts and the log locked first, then the entries judged ``chunk`` at a time, each chunk's
    rows copied while the next chunk is judged, and the last while the events are prepared.

    1. Same outcome as :func:`judge` then :func:`record`: the same refusals, rows and events. The
       year-end closes are read once, under the log's lock (a close takes it too, so none can come
       between); ``screened`` is as for :func:`judge` (the caller ran :func:`check_posting`).
    2. A row names its event before the rest is judged: ``event_of(rank)`` is the number (1, 2, …),
       among ``events(accepted)``, of the event that carries the rank-th accepted entry (a batch of
       one money: ``rank // postings per event + 1``). Checked against the events before anything
       is appended: a mismatch raises ValueError (the caller's transaction writes nothing).
    3. ``all_or_nothing``: from the first refusal on no row is written and nothing is appended; the
       judgement is complete, and the caller refuses the batch, so that its transaction rolls back
       the rows copied before (the answer is ``(judgement, [])``).
    4. Account locks before the log's (as judge-then-record takes them), every account opened
       before either (``prefetched`` with ``open_missing``): no new lock order, no deadlock."""
    if not prefetched.line_refs.issuperset(distinct_line_refs(entries)):
        raise ValueError("the look-ups do not cover the entries")
    already, candidates, refused = _sort_out(entries, prefetched.done, screened)
    ids, balances = await _lock_accounts(session, entries, candidates, prefetched)
    tail = await lock_log(session)
    closed = await _closed_years(session, (entries[index].posting for index in candidates))
    if closed:
        candidates = _open_books(entries, candidates, closed, refused)
    accepted: list[int] = []
    pairs: dict[int, tuple[int, int]] = {}
    writing: asyncio.Future | None = None
    async with raw_connection(session) as conn:
        try:
            for start in range(0, len(candidates), chunk):
                await asyncio.sleep(0)  # the rows copied so far go on meanwhile
                first = len(accepted)
                short = _judge_balances(entries, candidates[start:start + chunk], ids, balances, accepted, pairs)
                refused += [_refusal(index, entries[index], error) for index, error in short]
                if refused and all_or_nothing or first == len(accepted):
                    continue
                seqs = {index: tail.seq + event_of(rank) for rank, index in enumerate(accepted[first:], start=first)}
                rows = _rows(entries, accepted[first:], seqs.__getitem__, pairs, lambda _: actor, posted_at)
                writing = asyncio.ensure_future(_after(writing, _write_postings, conn, rows))
            refused.sort(key=lambda r: r["index"])
            judgement = Judgement(accepted=accepted, refused=refused, already_posted=already, accounts=pairs)
            if refused and all_or_nothing or not accepted:
                if writing is not None:
                    await writing
                return judgement, []
            planned = list(events(accepted))
            rank = {index: r for r, index in enumerate(accepted)}
            carried = [index for _, positions in planned for index in positions]
            if len(carried) != len(accepted) or set(carried) != set(accepted):
                raise ValueError("the events do not carry every accepted posting exactly once")
            if any(event_of(rank[index]) != number for number, (_, positions) in enumerate(planned, start=1)
                   for index in positions):
                raise ValueError("a posting row names another event than the one carrying it")
            assert writing is not None
            prepared = await _prepare_while(session, [event for event, _ in planned], writing)
        except BaseException:
            await _settle(writing)
            raise
    return judgement, await append(session, prepared, tail=tail)


async def _after(before: asyncio.Future | None, write: Callable[..., Any], *args: Any) -> None:
    """``write(*args)`` once ``before`` (the statement started before it on the connection) is done."""
    if before is not None:
        await before
    await write(*args)


async def _write_postings(conn: asyncpg.Connection, rows: list[tuple]) -> None:
    try:
        if len(rows) >= COPY_THRESHOLD:
            await conn.copy_records_to_table("postings", records=rows, columns=_POSTING_COLUMNS)
        else:
            await conn.executemany(_INSERT_POSTING, rows)
    except asyncpg.UniqueViolationError:  # the same line posted by a concurrent request
        raise Conflict("支付行已被并发入账 (a line was posted concurrently)", slug="duplicate-line") from None


def refusal_problem(refused: Sequence[Mapping[str, Any]]) -> Unprocessable:
    """The 422 of a batch with refused lines, nothing posted."""
    return Unprocessable(f"{len(refused)}笔被拒绝，全部未入账 ({len(refused)} line(s) refused; nothing was posted)",
                         errors=[{"field": f"lines.{r['index']}", "reason": r["reason"]} for r in refused],
                         refused=[public_refusal(r) for r in refused])


async def post_many(session: AsyncSession, entries: list[Entry], *, actor: Mapping[str, Any], posted_at: datetime,
                    partial: bool = False, events: EventsFor | None = None) -> Outcome:
    """Post a batch in the caller's transaction: every entry is judged first (:func:`judge`);
    refused entries are named with their reasons and, unless ``partial``, nothing is posted. An entry
    whose line reference was posted before is skipped as already done. One event per posting
    unless ``events`` groups them."""
    judgement = await judge(session, entries)
    if judgement.refused and not partial:
        raise refusal_problem(judgement.refused)
    appended = await record(session, entries, judgement, actor=actor, posted_at=posted_at, events=events)
    return Outcome(events=appended, refused=judgement.refused, already_posted=judgement.already_posted,
                   posted=judgement.accepted)


async def post(session: AsyncSession, posting: Posting, *, actor: Mapping[str, Any], posted_at: datetime,
               extra: Mapping[str, Any] | None = None, line_ref: str | None = None) -> dict[str, Any]:
    """Record one posting and its event; returns the event. Raises the domain's errors (422)."""
    outcome = await post_many(session, [Entry(posting, extra, line_ref)], actor=actor, posted_at=posted_at, partial=True)
    if outcome.already_posted:
        raise _posted_before(line_ref)
    if outcome.refused:
        raise outcome.refused[0]["error"]  # the domain's own error: its code, citation and status
    return outcome.events[0]


class Grouped(NamedTuple):
    """One request's entry in a group of requests committed together: its own actor and
    correlation id (the group runs in one task, outside the requests' contexts)."""

    entry: Entry
    actor: Mapping[str, Any]
    correlation_id: str | None = None


async def post_each(session: AsyncSession, items: Sequence[Grouped],
                    prefetched: Prefetch | None = None) -> list[dict[str, Any] | Problem]:
    """Post the entries of several requests in the caller's transaction, judged together in order
    against the accounts locked once (:func:`judge`) and recorded by one append (:func:`record`):
    each request's own outcome, in order — its event, or its own refusal (the domain's error; a
    line reference posted before, or twice in the group, is a 409). A refused request refuses
    only itself. The recorded time is the transaction's (the session's clock). ``prefetched``: the
    items' look-ups made ahead (:func:`look_up`)."""
    outcomes: list[dict[str, Any] | Problem | None] = [None] * len(items)
    positions, seen = [], set()
    for position, item in enumerate(items):
        ref = item.entry.line_ref
        if ref is not None and ref in seen:
            outcomes[position] = _posted_before(ref)
            continue
        seen.add(ref)
        positions.append(position)
    entries = [items[p].entry for p in positions]
    judgement = await judge(session, entries, prefetched)
    appended = await record(session, entries, judgement, actor={}, posted_at=log_now(session),
                            actors=[items[p].actor for p in positions],
                            correlations=[items[p].correlation_id for p in positions])
    for index, event in zip(judgement.accepted, appended):
        outcomes[positions[index]] = event
    for refusal in judgement.refused:
        outcomes[positions[refusal["index"]]] = refusal["error"]
    for index in judgement.already_posted:
        outcomes[positions[index]] = _posted_before(entries[index].line_ref)
    return outcomes  # type: ignore[return-value]


def _posted_before(line_ref: str | None) -> Conflict:
    return Conflict(f"该笔支付已入账 (the line {line_ref!r} was already posted)", slug="duplicate-line", line_ref=line_ref)


def public_refusal(refusal: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in refusal.items() if k != "error"}


async def load_ledger(session: AsyncSession, as_of: datetime | None = None) -> Ledger:
    """The whole ledger rebuilt from the posting rows, in order (for traces and checks): by event,
    and within an event (a batch's) by posting id, which is in line order. ``as_of``: only the
    postings whose events were recorded at or before that instant."""
    source, target = accounts.alias("source"), accounts.alias("target")
    columns = ("division", "role", "channel", "fiscal_year", "kind", "reference")
    query = (select(postings, *(source.c[c].label(f"f_{c}") for c in columns),
                    *(target.c[c].label(f"t_{c}") for c in columns))
             .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account))
    if as_of is not None:
        query = query.where(postings.c.event_seq.in_(select(events.c.seq).where(events.c.time <= as_of)))
    rows = (await session.execute(query.order_by(postings.c.event_seq, postings.c.id))).mappings().all()

    return Ledger.replay([Posting(
        posting_id=str(r["id"]), from_=account_key(r, "f_"), to=account_key(r, "t_"), amount_fen=r["amount_fen"],
        operation=r["operation"], document_no=r["document_no"] or "", document_date=r["document_date"],
        actor=r["actor"].get("sub", ""), purpose=r["purpose"], reference=r["reference"]) for r in rows])
