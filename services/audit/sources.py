"""Where the auditor reads the logs from — three sources that give the same events:

* :class:`ExportSource` — a directory written by ``fupin audit export`` (streamed line by line,
  with the raw lines for the verifier's fast path, and the manifest);
* :class:`FeedSource` — each service's ``GET /events?after=&limit=`` feed, paged, with an
  auditor's (national) or the audit service's own token;
* :class:`KafkaSource` — the topics ``<prefix>.<service>.events`` read from the beginning with no
  consumer group. Delivery is at least once and a relay republishes the whole log after a broker
  loss, so messages are deduplicated by seq and put in seq order; copies of one seq that differ
  are noted (and the first is kept, to be judged by the verifier).

A source never repairs anything else: gaps, altered events and bad links are the verifier's to
find. Feeds and Kafka are read into memory; an export is streamed (the 1M-event benchmark).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import httpx

from services.audit.export import file_digest, file_name, iter_lines, read_manifest
from shared.config import topic_of
from shared.events.relay import decode_message

Event = dict[str, Any]
FEED_PAGE = 5000


@dataclass
class Loaded:
    """Every audited service's events in the source's order (seq order for feeds and Kafka)."""

    description: str
    events: dict[str, list[Event]]
    entries: dict[str, Any] | None = None  # where each log should end: {service: {last_seq, last_hash?, events?}}
    notes: list[str] = field(default_factory=list)

    @property
    def services(self) -> list[str]:
        return list(self.events)

    def stream(self, service: str) -> Iterator[tuple[Event, bytes | None]]:
        return ((event, None) for event in self.events[service])


class ExportSource:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.entries = self.manifest["services"]
        self.description = f"export {self.directory}"
        self.notes: list[str] = []

    @property
    def services(self) -> list[str]:
        return list(self.entries)

    def path(self, service: str) -> Path:
        return self.directory / self.manifest["services"][service].get("file", file_name(service))

    def digest_notes(self) -> dict[str, str]:
        """service → why its file's digest is not the manifest's (an edited export)."""
        notes = {}
        for service, entry in self.manifest["services"].items():
            actual = file_digest(self.path(service))
            if actual != entry.get("sha256"):
                notes[service] = f"{self.path(service).name}: sha256 {actual[:16]}… is not the manifest's " \
                                  f"{str(entry.get('sha256'))[:16]}…"
        return notes

    def stream(self, service: str, members: Iterable[str] | None = None) -> Iterator[tuple[Event, bytes]]:
        """Each event with its line; ``members``: only those members of each event are built."""
        return iter_lines(self.path(service), members)

    async def load(self) -> Loaded:
        events = {service: [event for event, _ in self.stream(service)] for service in self.services}
        return Loaded(self.description, events, self.manifest["services"])


class FeedSource:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient], token: str, page: int = FEED_PAGE):
        self.clients, self.token, self.page = clients, token, page
        self.description = "feeds " + ", ".join(f"{s}={c.base_url}" for s, c in clients.items())

    async def read(self, service: str) -> tuple[list[Event], int]:
        client, after, events, newest = self.clients[service], 0, [], 0
        headers = {"Authorization": f"Bearer {self.token}"}
        while True:
            response = await client.get("/events", params={"after": after, "limit": self.page}, headers=headers)
            response.raise_for_status()
            page = response.json()
            events += page["events"]
            newest = max(newest, page["last_seq"])
            if page["next_after"] is None or not page["events"]:
                return events, newest
            after = page["next_after"]

    async def head(self, service: str) -> tuple[int, str | None]:
        """(last seq, its hash) of a feed: two one-event pages, not the whole log."""
        client, headers = self.clients[service], {"Authorization": f"Bearer {self.token}"}

        async def page(after: int) -> dict:
            response = await client.get("/events", params={"after": after, "limit": 1}, headers=headers)
            response.raise_for_status()
            return response.json()

        last = (await page(0))["last_seq"]
        if not last:
            return 0, None
        events = (await page(last - 1))["events"]
        return last, events[0]["hash"] if events else None

    async def heads(self) -> dict[str, tuple[int, str | None]]:
        found = await asyncio.gather(*(self.head(service) for service in self.clients))
        return dict(zip(self.clients, found))

    async def load(self) -> Loaded:
        read = await asyncio.gather(*(self.read(service) for service in self.clients))
        events = {service: got for service, (got, _) in zip(self.clients, read)}
        # the feed's own last seq when it was read: a page lost on the way shows as a gap at the end
        ends = {service: {"last_seq": newest} for service, (_, newest) in zip(self.clients, read)}
        return Loaded(self.description, events, ends)


def _event_of(value: bytes | None) -> tuple[Event | None, str]:
    """(the event a topic message holds, "") or (None, why it holds none): not JSON, not an object,
    no integer seq - what the audit cannot even place in a log. Anything else is kept, for the
    verifier to judge (services.audit.verify.envelope_problem)."""
    try:
        event = decode_message(value or b"")
    except (ValueError, AttributeError, TypeError, RecursionError) as error:  # not JSON; not an object
        return None, f"{type(error).__name__}: {error}"
    seq = event.get("seq")
    if type(seq) is not int:
        return None, f"its seq is {seq!r}, not an integer"
    return event, ""


class KafkaSource:
    def __init__(self, bootstrap: str, services: list[str], prefix: str = "fupin", timeout: float = 60.0):
        self.bootstrap, self.services, self.prefix, self.timeout = bootstrap, services, prefix, timeout
        self.description = f"kafka {bootstrap} topics {prefix}.<service>.events"

    async def load(self) -> Loaded:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        topics = {topic_of(service, self.prefix): service for service in self.services}
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        by_seq: dict[str, dict[int, Event]] = {service: {} for service in self.services}
        notes: list[str] = []
        try:
            await consumer._client.force_metadata_update()  # noqa: SLF001 — aiokafka has no public refresh
            partitions = [TopicPartition(topic, p) for topic in topics
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if partitions:
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                await self._drain(consumer, partitions, topics, by_seq, notes)
        finally:
            await consumer.stop()
        events = {service: [seqs[s] for s in sorted(seqs)] for service, seqs in by_seq.items()}
        return Loaded(self.description, events, None, notes)

    async def _drain(self, consumer, partitions, topics, by_seq, notes) -> None:
        """Read every partition to its end. The end is the high watermark a fetch reports (Tansu's
        ListOffsets can answer short, see shared.events.relay.topic_message_count)."""
        ends = await consumer.end_offsets(partitions)
        strays: dict[str, list] = {}  # service → [messages that are no event, the first one's place and why]
        try:
            await self._read_to_end(consumer, partitions, topics, by_seq, notes, ends, strays)
        finally:
            for service, (count, where, why) in strays.items():
                notes.append(f"{service}: {count} message(s) on the topic are not events and were not audited "
                             f"(the first at {where}: {why})")

    async def _read_to_end(self, consumer, partitions, topics, by_seq, notes, ends, strays) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(*partitions, timeout_ms=500, max_records=5000)
            for tp, messages in batch.items():
                service = topics[tp.topic]
                for message in messages:
                    event, why = _event_of(message.value)
                    if event is None:  # anyone who may publish to the topic can put anything there
                        stray = strays.setdefault(service, [0, f"{tp.topic}[{tp.partition}]@{message.offset}", why])
                        stray[0] += 1
                        continue
                    kept = by_seq[service].setdefault(event["seq"], event)
                    if kept is not event and kept.get("hash") != event.get("hash"):
                        notes.append(f"{service}: differing copies of seq {event['seq']} on the broker; "
                                     "the first is audited")
            positions = [await consumer.position(tp) for tp in partitions]
            if not batch and all(pos >= max(consumer.highwater(tp) or 0, ends[tp])
                                 for tp, pos in zip(partitions, positions)):
                return
        notes.append(f"kafka: stopped reading after {self.timeout:.0f}s; the topics may hold more")
