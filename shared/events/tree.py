"""The Merkle tree of a service's log, kept in its own database: nodes, tree heads and proofs.

Storage: ``merkle_nodes(level, idx, hash)`` holds every *aligned perfect subtree* completed so
far — level 0 the leaves (leaf ``idx`` = event ``seq - 1``, hash per
:func:`shared.events.merkle.event_leaf`), level ``l`` the subtree of leaves
``[idx·2^l, (idx+1)·2^l)``. About two rows per event. Why rows by (level, index) rather than
tiles (256-wide blobs, as the Go checksum database serves them): a proof here is answered by the
service itself, and a row per node makes it one primary-key lookup of at most ``2·log2 n`` rows
with no partial tiles to rewrite as the tree grows; nodes are written once and never updated, so
the table is append-only like ``events`` (a trigger says so). Tiles pay off for static serving
over HTTP caches, which is not this API.

Guarantees:

1. The tree is grown *after commit* by one follower per log (:class:`TreeState` driven by
   :class:`shared.events.checkpoints.Checkpointer`) in seq order, from each event's chain hash;
   the append path does not change.
2. Growing by ``k`` events reads their (seq, hash, prev_hash), computes the completed nodes from
   the compact range held in memory (:func:`shared.events.merkle.extend`) and writes them in one
   statement and one transaction. Nothing is ever rehashed.
3. Growing checks that the log still links to the tree: the next event must have seq
   ``size + 1`` and, as ``prev_hash``, the chain hash the tree's last leaf was made from.
   Otherwise nothing is added and :class:`TreeMismatch` names the seq (a cut tail refilled, or a
   history rewritten below the tree).
4. :meth:`TreeState.check_last_leaf` (one row) finds a history rewritten below the tree with
   every later hash recomputed: the last leaf's chain hash changes with it.
5. A tree head of any size up to the tree's, an inclusion proof and a consistency proof each read
   exactly the nodes they need in one query (:func:`shared.events.merkle.subtrees_needed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TypeVar

import asyncpg
import sqlalchemy as sa

from shared.events import merkle
from shared.events.chain import GENESIS

T = TypeVar("T")

metadata = sa.MetaData()

merkle_nodes = sa.Table(
    "merkle_nodes", metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.CheckConstraint("level BETWEEN 0 AND 62", name="merkle_nodes_level"),
    sa.CheckConstraint("idx >= 0", name="merkle_nodes_idx"),
    sa.CheckConstraint("length(hash) = 32", name="merkle_nodes_hash"),
)

checkpoints = sa.Table(
    "checkpoints", metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("root_hash", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("key_id", sa.CHAR(8), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("size > 0", name="checkpoints_size"),
    sa.CheckConstraint("length(root_hash) = 32", name="checkpoints_root"),
)
sa.Index("checkpoints_signed_at_idx", checkpoints.c.signed_at)

TABLES = (merkle_nodes, checkpoints)

_READ_NODES = (
    "SELECT n.level, n.idx, n.hash FROM merkle_nodes n "
    "JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx"
)
_WRITE_NODES = (
    "INSERT INTO merkle_nodes (level, idx, hash) "
    "SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])"
)


class TreeMismatch(Exception):
    """The log no longer extends the tree (guarantee 3)."""

    def __init__(self, seq: int, reason: str):
        super().__init__(f"log does not extend its Merkle tree at seq {seq}: {reason}")
        self.seq, self.reason = seq, reason


class TreeTooShort(Exception):
    """A size beyond what the tree holds was asked for."""

    def __init__(self, size: int, tree_size: int):
        super().__init__(f"the tree has {tree_size} leaves, not {size}")
        self.size, self.tree_size = size, tree_size


async def tree_size(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 0")


async def read_subtrees(conn: asyncpg.Connection, ranges: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The hashes of aligned perfect subtrees, in one query."""
    if not ranges:
        return {}
    keys = [merkle.level_index(start, end) for start, end in ranges]
    rows = await conn.fetch(_READ_NODES, [k[0] for k in keys], [k[1] for k in keys])
    found = {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}
    missing = [r for r, k in zip(ranges, keys) if k not in found]
    if missing:
        raise TreeTooShort(max(end for _, end in missing), await tree_size(conn))
    return {r: found[k] for r, k in zip(ranges, keys)}


async def compute(conn: asyncpg.Connection, fn: Callable[[merkle.SubtreeReader], T]) -> T:
    """Run a pure tree computation over the stored nodes, read in one query (guarantee 4)."""
    nodes = await read_subtrees(conn, merkle.subtrees_needed(fn))
    return fn(lambda start, end: nodes[(start, end)])


async def root_at(conn: asyncpg.Connection, size: int) -> bytes:
    return await compute(conn, lambda subtree: merkle.tree_root(size, subtree))


async def first_divergence(conn: asyncpg.Connection, size: int) -> int | None:
    """The first seq among the tree's ``size`` leaves that the log no longer holds as it was (row
    gone or chain hash changed); None when all match. One scan: run it when an alarm is new."""
    return await conn.fetchval(
        "SELECT min(n.idx) + 1 FROM merkle_nodes n LEFT JOIN events e ON e.seq = n.idx + 1 "
        "WHERE n.level = 0 AND n.idx < $1 "
        "AND (e.seq IS NULL OR n.hash <> sha256('\\x00'::bytea || decode(e.hash, 'hex')))", size)


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: list[bytes]


async def inclusion(conn: asyncpg.Connection, index: int, size: int) -> InclusionProof:
    def proof(subtree: merkle.SubtreeReader):
        return (subtree(index, index + 1), merkle.tree_root(size, subtree),
                merkle.inclusion_proof(index, size, subtree))

    leaf, root_hash, hashes = await compute(conn, proof)
    return InclusionProof(index, size, leaf, root_hash, hashes)


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    hashes: list[bytes]


async def consistency(conn: asyncpg.Connection, first: int, second: int) -> ConsistencyProof:
    def proof(subtree: merkle.SubtreeReader):
        return (merkle.tree_root(first, subtree), merkle.tree_root(second, subtree),
                merkle.consistency_proof(first, second, subtree))

    first_root, second_root, hashes = await compute(conn, proof)
    return ConsistencyProof(first, second, first_root, second_root, hashes)


@dataclass
class TreeState:
    """The tree's size and compact range, held by the one follower of the log."""

    size: int = 0
    border: list[bytes] = field(default_factory=list)
    last_leaf: bytes | None = None  # leaf hash of event ``size`` (None for the empty tree)

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> "TreeState":
        size = await tree_size(conn)
        ranges = merkle.border_subtrees(size)
        wanted = ranges + ([(size - 1, size)] if size else [])
        nodes = await read_subtrees(conn, wanted)
        return cls(size, [nodes[r] for r in ranges], nodes[(size - 1, size)] if size else None)

    @property
    def root(self) -> bytes:
        return merkle.border_root(self.border)

    async def check_last_leaf(self, conn: asyncpg.Connection) -> None:
        """:class:`TreeMismatch` when event ``size`` is gone or no longer the tree's last leaf. A
        history rewritten with every later hash recomputed changes that event's chain hash, so one
        row read finds any rewrite below the tree, also while nothing new is appended."""
        if not self.size:
            return
        current = await conn.fetchval("SELECT hash FROM events WHERE seq = $1", self.size)
        if current is None or merkle.event_leaf(current) != self.last_leaf:
            raise TreeMismatch(self.size, "the log's event differs from the tree's last leaf")

    async def grow(self, conn: asyncpg.Connection, limit: int = 1000) -> int:
        """Add the log's next events (at most ``limit``) to the tree; returns how many."""
        rows = await conn.fetch("SELECT seq, hash, prev_hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                                self.size, limit)
        if not rows:
            return 0
        self._check_link(rows)
        size, border, nodes = merkle.extend(self.size, self.border, [merkle.event_leaf(r["hash"]) for r in rows])
        async with conn.transaction():
            await conn.execute(_WRITE_NODES, [n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes])
        self.size, self.border, self.last_leaf = size, border, merkle.event_leaf(rows[-1]["hash"])
        return len(rows)

    def _check_link(self, rows: list) -> None:
        first = rows[0]
        linked = (merkle.event_leaf(first["prev_hash"]) == self.last_leaf if self.last_leaf is not None
                  else first["prev_hash"] == GENESIS)
        prev_hash, expected = first["prev_hash"], self.size + 1
        for row in rows:
            if row["seq"] != expected:
                raise TreeMismatch(expected, f"seq {expected} is missing from the log")
            if not linked or row["prev_hash"] != prev_hash:
                raise TreeMismatch(expected, f"its prev_hash is not the hash of seq {expected - 1} in the tree")
            prev_hash, expected = row["hash"], expected + 1
