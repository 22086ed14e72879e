"""The audit reads a topic that anyone allowed to publish to it may have written to: a message that
is not an event is noted and left out, the events around it are audited (real broker)."""

from __future__ import annotations

import json
import uuid

from aiokafka import AIOKafkaProducer

from services.audit.run import replay
from services.audit.sources import KafkaSource
from shared.config import topic_of
from shared.events.topics import ensure_topic
from tests.unit.audit.logs import World


async def test_messages_that_are_not_events_are_noted_and_the_events_audited(broker):
    world = World()
    household = world.household("6527221022010001")
    events = world.registry.events
    prefix = f"t{uuid.uuid4().hex[:10]}"
    strays = [b"not json", b"[1, 2]", b'"text"', b'{"seq": "1"}', b'{"no": "seq"}', b"\xff\xfe", b"[" * 100_000]
    topic = topic_of("registry", prefix)
    await ensure_topic(broker.bootstrap, topic, 1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        for value in [json.dumps(events[0]).encode(), *strays, *(json.dumps(e).encode() for e in events[1:])]:
            await producer.send_and_wait(topic, value, key=household.encode())
    finally:
        await producer.stop()

    loaded = await KafkaSource(broker.bootstrap, ["registry"], prefix, timeout=20).load()

    assert loaded.events["registry"] == events
    (note,) = loaded.notes
    assert note.startswith(f"registry: {len(strays)} message(s) on the topic are not events and were not audited "
                           f"(the first at {topic}[0]@1: JSONDecodeError"), note
    assert replay(loaded).chains["registry"].ok
