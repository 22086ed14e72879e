"""The witness every service runs over the other services' logs.

Guarantees:

1. **Authentic input only.** A checkpoint from ``<prefix>.<origin>.checkpoints`` is judged only
   after its origin's signature verified with the origin's configured verifier key
   (:func:`origin_verifiers`); anything else is rejected (logged, counted), never evidence.
2. **Co-signed after a consistency proof.** The proof from the newest checkpoint it co-signed is
   fetched from the origin's ``GET /checkpoints/proof`` and checked here
   (:mod:`shared.witness.domain`); the cosignature (C2SP tlog-cosignature/v1, with the service's
   log key) is stored in ``witness_cosignatures`` and recorded in the witness's own log by a
   ``<service>.witness.cosigned`` event — in the same transaction, unless the log's last event is
   already such a record: then the cosignatures wait (``recorded_seq`` null) and go into one event
   once the log has had another event. Otherwise witnessing alone would keep every log growing:
   each record makes its log sign a new checkpoint, which the others co-sign and record, forever.
3. **Alarms keep their evidence.** A fork, an inconsistent checkpoint or a cut tail (the origin's
   feed ends below the size co-signed, checked every ``tail_check_seconds``) is stored in
   ``witness_alarms`` with the signed checkpoint held and the one received, appended as a
   ``<service>.witness.alarm_raised`` event, logged at ERROR and counted
   (``fupin_witness_alarms_total``); ``/readyz`` reports the service degraded while it has alarms.
   One condition raises one alarm (a re-delivered checkpoint does not raise it again).
4. **At least once, in order.** Kafka offsets are committed after the checkpoint was judged and
   stored; an origin that cannot be reached for its proof stops the witness (it retries), so no
   checkpoint is skipped unjudged.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import service_token
from shared.config import SERVICES, SETTINGS_CLASSES, Settings
from shared.events import NewEvent, append
from shared.events.checkpoints import log_signer
from shared.events.note import Checkpoint, NoteError, Signer, Verifier, cosign, open_checkpoint
from shared.events.relay import ensure_topic
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.metrics import WITNESS_ALARMS, WITNESS_CHECKPOINTS
from shared.witness.domain import Alarm, Held, Verdict, judge, proof_needed, truncation

log = get_logger("fupin.witness")

COSIGNED, ALARM_RAISED = "witness.cosigned", "witness.alarm_raised"


def origin_verifiers(settings: Settings, origins: list[str]) -> dict[str, Verifier]:
    """{origin service: verifier key of its log}: ``FUPIN_LOG_VERIFIER_KEYS`` (the published keys),
    else — in development, where every service's key is in the data directory — derived from it."""
    out = {}
    for service in origins:
        vkey = settings.log_verifier_keys.get(service)
        if vkey is not None:
            out[service] = Verifier.from_key_string(vkey)
            continue
        if settings.env == "production":
            raise RuntimeError(f"FUPIN_LOG_VERIFIER_KEYS has no key for the {service} log (the witness needs it)")
        other = SETTINGS_CLASSES[service].model_construct(**settings.model_dump(exclude={"port", "database"}))
        out[service] = log_signer(other).verifier()
    return out


@dataclass(frozen=True)
class Outcome:
    verdict: str  # cosign | known | older | alarm | rejected
    detail: str = ""


class Witness(Worker):
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *,
                 signer: Signer | None = None, origins: Mapping[str, Verifier] | None = None,
                 http: httpx.AsyncClient | None = None):
        """``origins``: {service: verifier key} of the logs witnessed (default: every other service)."""
        super().__init__()
        self.name = f"witness-{settings.service}"
        self.settings, self.sessionmaker = settings, sessionmaker
        self.signer = signer or log_signer(settings)
        if origins is None:
            origins = origin_verifiers(settings, [s for s in SERVICES if s != settings.service])
        self.origins = dict(origins)
        self.by_origin_name = {v.name: service for service, v in self.origins.items()}
        self.http = http or httpx.AsyncClient(timeout=30)

    async def stop(self) -> None:
        await super().stop()
        await self.http.aclose()

    # -- the loop (guarantee 4) ------------------------------------------------------------------
    async def session(self) -> None:
        topics = {f"{self.settings.topic_prefix}.{service}.checkpoints": service for service in self.origins}
        for topic in topics:
            await ensure_topic(self.settings.broker, topic, 1)
        kafka = AIOKafkaConsumer(*topics, bootstrap_servers=self.settings.kafka_bootstrap,
                                 group_id=f"{self.settings.consumer_group}.witness", enable_auto_commit=False,
                                 auto_offset_reset="earliest", metadata_max_age_ms=5000)
        await kafka.start()
        loop = asyncio.get_running_loop()
        next_tail_check = loop.time()
        try:
            while not self._stopping:
                batches = await kafka.getmany(timeout_ms=1000, max_records=100)
                for partition, messages in batches.items():
                    for message in messages:
                        await self.observe(topics[partition.topic], message.value.decode("utf-8", "replace"))
                    await kafka.commit({partition: messages[-1].offset + 1})
                if loop.time() >= next_tail_check:
                    await self.check_tails()
                    async with self.sessionmaker() as session, session.begin():
                        await self.record_cosignatures(session)
                    next_tail_check = loop.time() + self.settings.tail_check_seconds
        finally:
            await kafka.stop()

    # -- one checkpoint (guarantees 1 and 2) -----------------------------------------------------
    async def observe(self, service: str, note: str) -> Outcome:
        """Judge one signed checkpoint of ``service``'s log: co-sign it, or raise an alarm."""
        verifier = self.origins[service]
        try:
            checkpoint = open_checkpoint(note, [verifier])
            if checkpoint.origin != verifier.name:
                raise NoteError(f"origin {checkpoint.origin!r} is not the {service} log's {verifier.name!r}")
        except NoteError as exc:
            log.warning("rejected a checkpoint that does not verify", service=self.settings.service,
                        origin=service, error=str(exc))
            WITNESS_CHECKPOINTS.labels(self.settings.service, service, "rejected").inc()
            return Outcome("rejected", str(exc))
        same_size, latest = await self._held(checkpoint.origin, checkpoint.size)
        wanted = proof_needed(checkpoint, same_size, latest)
        proof = await self._proof(service, *wanted) if wanted else None
        verdict, alarm = judge(checkpoint, note, same_size, latest, proof)
        if alarm is not None:
            await self.raise_alarm(service, checkpoint.origin, alarm)
            return Outcome("alarm", alarm.detail)
        if verdict == Verdict.cosign:
            await self._cosign(checkpoint, note)
        WITNESS_CHECKPOINTS.labels(self.settings.service, service, str(verdict)).inc()
        return Outcome(str(verdict))

    async def _held(self, origin: str, size: int) -> tuple[Held | None, Held | None]:
        """The checkpoint co-signed at ``size`` (if any) and the newest co-signed one."""
        async with self.sessionmaker() as session:
            rows = (await session.execute(text(
                "SELECT size, root_hash, checkpoint FROM witness_cosignatures WHERE origin = :origin "
                "AND (size = :size OR size = (SELECT max(size) FROM witness_cosignatures WHERE origin = :origin)) "
                "ORDER BY size"), {"origin": origin, "size": size})).all()
        held = {r.size: Held(r.size, base64.b64decode(r.root_hash), r.checkpoint) for r in rows}
        return held.get(size), (held[max(held)] if held else None)

    async def _proof(self, service: str, first: int, second: int) -> list[bytes]:
        response = await self.http.get(self.settings.peer_url(service).rstrip("/") + "/checkpoints/proof",
                                       params={"from": first, "to": second})
        if response.status_code >= 500:
            response.raise_for_status()  # the origin is down: retry later (guarantee 4)
        if response.status_code != 200:
            return []  # the origin cannot prove it (e.g. its tree is shorter): judged without a proof
        return [base64.b64decode(h) for h in response.json()["hashes"]]

    async def _cosign(self, checkpoint: Checkpoint, note: str) -> None:
        now = datetime.now(timezone.utc)
        line = cosign(note, self.signer, int(now.timestamp()))
        async with self.sessionmaker() as session, session.begin():
            await session.execute(text(
                "INSERT INTO witness_cosignatures (origin, size, root_hash, checkpoint, cosignature, cosigned_at) "
                "VALUES (:origin, :size, :root, :note, :line, :at) ON CONFLICT DO NOTHING"),
                {"origin": checkpoint.origin, "size": checkpoint.size, "note": note, "line": line, "at": now,
                 "root": base64.b64encode(checkpoint.root_hash).decode()})
            await self.record_cosignatures(session)

    async def record_cosignatures(self, session: AsyncSession) -> None:
        """Record the cosignatures not yet in the own log as one event — unless the log's last event is
        already such a record (guarantee 2): then they wait for the log's next other event."""
        last = await session.scalar(text("SELECT type FROM events ORDER BY seq DESC LIMIT 1"))
        if last == self.cosigned_type:
            return
        pending = (await session.execute(text(
            "SELECT origin, size, root_hash, cosignature FROM witness_cosignatures WHERE recorded_seq IS NULL "
            "ORDER BY cosigned_at, origin, size FOR UPDATE"))).mappings().all()
        if not pending:
            return
        [event] = await append(session, [NewEvent(
            type=self.cosigned_type, subject=f"witness:{self.settings.service}", actor=self._actor(),
            data={"cosignatures": [dict(row) for row in pending]})])
        await session.execute(text(
            "UPDATE witness_cosignatures SET recorded_seq = :seq WHERE recorded_seq IS NULL "
            "AND (origin, size) IN (SELECT * FROM unnest(CAST(:origins AS TEXT[]), CAST(:sizes AS BIGINT[])))"),
            {"seq": event["seq"], "origins": [r["origin"] for r in pending], "sizes": [r["size"] for r in pending]})

    @property
    def cosigned_type(self) -> str:
        return f"{self.settings.service}.{COSIGNED}"

    def _actor(self) -> dict[str, Any]:
        return {"sub": f"witness:{self.settings.service}", "roles": ["service"], "division": "000000000000"}

    # -- alarms (guarantee 3) --------------------------------------------------------------------
    async def raise_alarm(self, service: str, origin: str, alarm: Alarm) -> bool:
        """Store the alarm with its evidence, once per condition; True when it is new."""
        async with self.sessionmaker() as session, session.begin():
            known = await session.scalar(text(
                "SELECT 1 FROM witness_alarms WHERE origin = :origin AND kind = :kind AND held_size = :held "
                "AND received_size IS NOT DISTINCT FROM CAST(:size AS BIGINT) "
                "AND received_checkpoint IS NOT DISTINCT FROM CAST(:note AS TEXT)"),
                {"origin": origin, "kind": alarm.kind, "held": alarm.held.size, "size": alarm.received_size,
                 "note": alarm.received_note})
            if known:
                return False
            await session.execute(text(
                "INSERT INTO witness_alarms (origin, kind, detail, held_size, held_checkpoint, received_size, "
                "received_checkpoint, raised_at) VALUES (:origin, :kind, :detail, :held, :held_note, :size, :note, "
                ":at)"), {"origin": origin, "kind": alarm.kind, "detail": alarm.detail, "held": alarm.held.size,
                          "held_note": alarm.held.note, "size": alarm.received_size, "note": alarm.received_note,
                          "at": datetime.now(timezone.utc)})
            await append(session, [NewEvent(
                type=f"{self.settings.service}.{ALARM_RAISED}", subject=origin, actor=self._actor(),
                data={"origin": origin, "kind": alarm.kind, "detail": alarm.detail, "held_size": alarm.held.size,
                      "held_checkpoint": alarm.held.note, "received_size": alarm.received_size,
                      "received_checkpoint": alarm.received_note})])
        WITNESS_ALARMS.labels(self.settings.service, service, alarm.kind).inc()
        log.error("witness alarm: " + alarm.detail, service=self.settings.service, origin=origin, kind=alarm.kind)
        return True

    async def check_tails(self) -> None:
        """Each witnessed log must still hold every seq the witness co-signed (guarantee 3)."""
        for service, verifier in self.origins.items():
            _, latest = await self._held(verifier.name, 0)
            if latest is None:
                continue
            try:
                last_seq = await self._last_seq(service)
            except httpx.HTTPError as exc:
                log.warning("origin feed unreachable", service=self.settings.service, origin=service, error=repr(exc))
                continue
            alarm = truncation(latest, last_seq)
            if alarm is not None:
                await self.raise_alarm(service, verifier.name, alarm)

    async def _last_seq(self, service: str) -> int:
        response = await self.http.get(
            self.settings.peer_url(service).rstrip("/") + "/events", params={"after": 0, "limit": 1},
            headers={"Authorization": f"Bearer {service_token(self.settings)}"})
        response.raise_for_status()
        return response.json()["last_seq"]
