"""Signed checkpoints of a service's log: keys, the checkpoint table, the follower that grows the
Merkle tree and signs, and the publisher that puts checkpoints on Kafka.

Guarantees:

1. **One signer per log, never two roots for one size.** The log's Ed25519 key is named after the
   origin ``<log_origin_prefix>/<service>``. In production it comes from ``FUPIN_LOG_KEY_DIR``
   (``<service>.key``) or ``FUPIN_LOG_KEYS``, and a service without one does not start; in
   development it is generated once into ``<data_dir>/keys/<service>.key``. Checkpoints are
   rows keyed by size in an append-only table, signed only by the one follower of the log
   (a session advisory lock), so no size is ever signed with two roots.
2. **After commit, in seq order.** :class:`Checkpointer` follows the log like the relay (wakes on
   the append NOTIFY, polls as a fallback), grows the tree (:mod:`shared.events.tree`) and signs a
   checkpoint (C2SP tlog-checkpoint, :mod:`shared.events.note`) when ``checkpoint_every_events``
   events were added since the last one, or ``checkpoint_every_seconds`` passed and the log grew.
3. **Cut tails are named.** At start-up and every ``tail_check_seconds`` it compares the log's
   tail with the latest checkpoint, the tree, the relay's watermark and the topic
   (:mod:`shared.events.tail`), and the tree's last leaf with the log's event of that seq; a
   log that no longer extends the tree stops the tree (nothing is signed over a rewritten
   history) and raises an alarm naming the first rewritten seq.
4. **Published outside the database.** :class:`CheckpointPublisher` sends every checkpoint, in
   size order, to ``<prefix>.<service>.checkpoints`` (value = the signed note, key = origin,
   header ``size``), at least once (its watermark is saved after the broker's acknowledgement);
   when the topic holds fewer checkpoints than were sent (a broker that lost its data) it
   republishes them all. It also reads the last seq on the events topic for the tail check.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.config import Settings, libpq_url
from shared.events import store
from shared.events.note import Checkpoint, Signer, sign_note
from shared.events.relay import ensure_topic, load_watermark, save_watermark, stop_clients, topic_message_count
from shared.events.tail import LogGuard
from shared.events.tree import TreeMismatch, TreeState, first_divergence
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.metrics import CHECKPOINTS_SIGNED, TREE_SIZE

log = get_logger("fupin.checkpoints")

CHECKPOINTER_LOCK_KEY = 0x66757069_6E_02
CHECKPOINT_CHANNEL = "fupin_checkpoints"
TREE_BATCH = 5000
#: After a wake-up the follower waits this long, so that a stream of single-event commits is
#: added to the tree in a few batches instead of one round of queries per commit.
TREE_LINGER_SECONDS = 0.1


class MissingLogKey(RuntimeError):
    pass


# --- keys (guarantee 1) -----------------------------------------------------------------------

def log_signer(settings: Settings) -> Signer:
    """The service's log signing key, named after its origin."""
    text = settings.log_keys.get(settings.service)
    if text is None and settings.log_key_dir:
        path = Path(settings.log_key_dir) / f"{settings.service}.key"
        if not path.exists():
            raise MissingLogKey(f"log signing key {path} does not exist")
        text = path.read_text()
    if text is None:
        if settings.env == "production":
            raise MissingLogKey("FUPIN_ENV=production needs the log signing key: FUPIN_LOG_KEY_DIR or FUPIN_LOG_KEYS")
        text = _development_key(Path(settings.data_dir) / "keys" / f"{settings.service}.key", settings.log_origin)
    signer = Signer.from_key_string(text.strip())
    if signer.name != settings.log_origin:
        raise MissingLogKey(f"the log key is named {signer.name!r}, the log's origin is {settings.log_origin!r}")
    return signer


def _development_key(path: Path, origin: str) -> str:
    """Read the development key, or generate it once (exclusive create: concurrent starts agree)."""
    if path.exists():
        text = path.read_text()
        if Signer.from_key_string(text.strip()).name == origin:
            return text
        path = path.with_name(f"{path.stem}-{origin.replace('/', '_')}.key")
        if path.exists():
            return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    text = Signer.generate(origin).key_string() + "\n"
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return text


# --- the checkpoint table ---------------------------------------------------------------------

_COLUMNS = "size, origin, root_hash, note, key_id, signed_at"


def checkpoint_dict(row: Any) -> dict[str, Any]:
    return {"size": row["size"], "origin": row["origin"], "root_hash": bytes(row["root_hash"]),
            "note": row["note"], "key_id": row["key_id"], "signed_at": row["signed_at"]}


async def latest(conn: asyncpg.Connection) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1")
    return checkpoint_dict(row) if row else None


async def at_size(conn: asyncpg.Connection, size: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM checkpoints WHERE size = $1", size)
    return checkpoint_dict(row) if row else None


async def page(conn: asyncpg.Connection, after: int, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM checkpoints WHERE size > $1 ORDER BY size LIMIT $2", after, limit)
    return [checkpoint_dict(r) for r in rows]


async def sign(conn: asyncpg.Connection, signer: Signer, size: int, root_hash: bytes) -> dict[str, Any]:
    """Sign and store the checkpoint of the tree of ``size`` leaves (its root given)."""
    note = sign_note(Checkpoint(signer.name, size, root_hash).body(), [signer])
    signed_at = datetime.now(timezone.utc)
    async with conn.transaction():
        await conn.execute(f"INSERT INTO checkpoints ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                           size, signer.name, root_hash, note, signer.key_id.hex(), signed_at)
        await conn.execute("SELECT pg_notify($1, $2)", CHECKPOINT_CHANNEL, str(size))
    return {"size": size, "origin": signer.name, "root_hash": root_hash, "note": note,
            "key_id": signer.key_id.hex(), "signed_at": signed_at}


# --- the follower (guarantees 2 and 3) --------------------------------------------------------

class _Follower(Worker):
    """A worker that sleeps until woken (NOTIFY) or its poll interval passes."""

    def __init__(self, settings: Settings, name: str):
        super().__init__()
        self.name = f"{name}-{settings.service}"
        self.settings = settings
        self.dsn = libpq_url(settings.database_server, settings.database_name)
        self.wake = asyncio.Event()

    async def stop(self) -> None:
        self.wake.set()
        await super().stop()

    async def nap(self, timeout: float) -> None:
        """Returns at once when woken since the last nap (no NOTIFY is lost), else after ``timeout``."""
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        self.wake.clear()


@dataclass
class CheckpointPolicy:
    every_events: int
    every_seconds: float

    def due(self, size: int, last_size: int, since_last: float) -> bool:
        grown = size - last_size
        return grown > 0 and (grown >= self.every_events or since_last >= self.every_seconds)


class Checkpointer(_Follower):
    """Grows the log's Merkle tree after commit, signs checkpoints, watches the log's tail."""

    def __init__(self, settings: Settings, signer: Signer, guard: LogGuard):
        super().__init__(settings, "checkpointer")
        self.signer, self.guard = signer, guard
        self.policy = CheckpointPolicy(settings.checkpoint_every_events, settings.checkpoint_every_seconds)

    async def session(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", CHECKPOINTER_LOCK_KEY):
                await asyncio.sleep(self.settings.relay_poll_seconds)  # another follower is active
            await conn.add_listener(store.NOTIFY_CHANNEL, lambda *_: self.wake.set())
            await self.follow(conn)
        finally:
            await conn.close()

    async def follow(self, conn: asyncpg.Connection) -> None:
        loop = asyncio.get_running_loop()
        tree = await TreeState.load(conn)
        last = await latest(conn)
        last_size, last_at = (last["size"], loop.time()) if last else (0, loop.time())
        next_tail_check = loop.time()
        while not self._stopping:
            grown = await self._grow(conn, tree)
            if self.policy.due(tree.size, last_size, loop.time() - last_at) and not self.guard.mismatch:
                await sign(conn, self.signer, tree.size, tree.root)
                CHECKPOINTS_SIGNED.labels(self.settings.service).inc()
                last_size, last_at = tree.size, loop.time()
            if loop.time() >= next_tail_check:
                truncated = await self.guard.check_tail(conn, self.settings.topic)
                if not truncated:  # a cut tail is named as such; otherwise: was the history rewritten?
                    await self._check_rewrite(conn, tree)
                next_tail_check = loop.time() + self.settings.tail_check_seconds
            if not grown:
                await self.nap(min(self.settings.relay_poll_seconds, max(next_tail_check - loop.time(), 0.01)))
                await asyncio.sleep(TREE_LINGER_SECONDS)  # let commits gather: one grow for many

    async def _grow(self, conn: asyncpg.Connection, tree: TreeState) -> int:
        try:
            grown = await tree.grow(conn, TREE_BATCH)
        except TreeMismatch as exc:
            await self._mismatch(conn, tree, exc)
            return 0
        if grown:
            self.guard.report_mismatch(None)
        TREE_SIZE.labels(self.settings.service).set(tree.size)
        return grown

    async def _check_rewrite(self, conn: asyncpg.Connection, tree: TreeState) -> None:
        try:
            await tree.check_last_leaf(conn)
        except TreeMismatch as exc:
            await self._mismatch(conn, tree, exc)

    async def _mismatch(self, conn: asyncpg.Connection, tree: TreeState, exc: TreeMismatch) -> None:
        if self.guard.mismatch is None:  # locate the rewrite once per alarm (a scan of the leaves)
            diverged = await first_divergence(conn, tree.size)
            self.guard.report_mismatch(
                f"log rewritten from seq {diverged}: it no longer extends its Merkle tree ({exc})"
                if diverged else str(exc))


# --- the publisher (guarantee 4) --------------------------------------------------------------

async def last_header(probe: AIOKafkaConsumer, topic: str, header: str, timeout: float = 5.0) -> int | None:
    """The largest integer ``header`` among the last records of the topic's partitions (None when
    the topic holds nothing)."""
    await probe._client.force_metadata_update()  # noqa: SLF001 — aiokafka has no public refresh
    partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
    ends = await probe.end_offsets(partitions) if partitions else {}
    held = [tp for tp in partitions if ends[tp] > 0]
    if not held:
        return None
    probe.assign(held)
    for tp in held:
        probe.seek(tp, ends[tp] - 1)
    found: dict[TopicPartition, int] = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < len(held) and asyncio.get_running_loop().time() < deadline:
        batches = await probe.getmany(*held, timeout_ms=500)
        for tp, records in batches.items():
            for record in records:
                value = dict(record.headers or ()).get(header)
                if value is not None:
                    found[tp] = max(found.get(tp, 0), int(value))
    return max(found.values()) if found else None


class CheckpointPublisher(_Follower):
    """Publishes checkpoints in size order; its watermark (the last size the broker acknowledged)
    is a ``relay_watermark`` row of the checkpoint topic, as the relay keeps its own."""

    def __init__(self, settings: Settings, guard: LogGuard):
        super().__init__(settings, "checkpoint-publisher")
        self.guard = guard
        self.topic = settings.checkpoint_topic
        self._settled: int | None = None  # checkpoints sent before the last look

    async def session(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        producer = probe = None
        try:
            await conn.add_listener(CHECKPOINT_CHANNEL, lambda *_: self.wake.set())
            bootstrap = self.settings.broker
            await ensure_topic(bootstrap, self.topic, 1)
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=15000,
                                        enable_idempotence=self.settings.kafka_idempotence)
            probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await producer.start()
            await probe.start()
            published, self._settled = await self._watermark(conn), None
            loop = asyncio.get_running_loop()
            next_look = loop.time()
            while not self._stopping:
                if loop.time() >= next_look:
                    self.guard.topic_last_seq = await last_header(probe, self.settings.topic, "seq")
                    published = await self._check_broker(conn, probe, published)
                    next_look = loop.time() + self.settings.tail_check_seconds
                for checkpoint in await page(conn, published, 100):
                    await producer.send_and_wait(
                        self.topic, value=checkpoint["note"].encode(), key=checkpoint["origin"].encode(),
                        headers=[("size", str(checkpoint["size"]).encode())])
                    published = checkpoint["size"]
                    await self._save_watermark(conn, published)
                await self.nap(self.settings.relay_poll_seconds)
        finally:
            await stop_clients(producer, probe)
            await conn.close()

    async def _watermark(self, conn: asyncpg.Connection) -> int:
        return await load_watermark(conn, self.topic)

    async def _save_watermark(self, conn: asyncpg.Connection, size: int) -> None:
        await save_watermark(conn, self.topic, size)

    async def _check_broker(self, conn: asyncpg.Connection, probe: AIOKafkaConsumer, published: int) -> int:
        """The watermark to publish from: 0 when the topic holds fewer checkpoints than were sent
        before the previous look (a broker that lost its data; sends since then may not be counted
        yet, and a topic refilled by them still holds fewer than all)."""
        held = await topic_message_count(probe, self.topic)
        settled = self._settled
        self._settled = await conn.fetchval("SELECT count(*) FROM checkpoints WHERE size <= $1", published)
        if settled is None:
            settled = self._settled  # a new session: everything sent before it has settled
        if held >= settled:
            return published
        log.warning("broker lost checkpoints; republishing them all", topic=self.topic, held=held, sent=settled)
        await ensure_topic(self.settings.broker, self.topic, 1)
        await self._save_watermark(conn, 0)
        self._settled = 0
        return 0
