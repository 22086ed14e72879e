"""Topics are Fupin's: created in the configured shape, never auto-created by a client, and
re-created in that shape when the broker comes back empty (the embedded Tansu, memory-only)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from services.registry.app import create_app as registry_app
from shared.events.relay import Relay
from shared.events.topics import ensure_topic, partitions_of
from tests.conftest import serving
from tests.e2e.test_event_flow import _at_least, flow, start_consumer  # noqa: F401 — the fixture
from tests.stack import wait_until

PARTITIONS = 3


async def partitions(bootstrap: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await partitions_of(admin, topic)
    finally:
        await admin.close()


async def test_a_consumer_subscribing_to_a_missing_topic_does_not_create_it(broker):
    topic = "fupin-test.nobody.events"
    reader = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    try:
        with pytest.raises(UnknownTopicOrPartitionError):  # the broker was asked not to create it
            await reader.start()
    finally:
        await reader.stop()
    assert await partitions(broker.bootstrap, topic) is None


async def test_after_the_broker_restarts_empty_the_topic_comes_back_with_the_configured_partitions(
        flow, broker):  # noqa: F811
    flow.source = flow.source.model_copy(update={"topic_partitions": PARTITIONS})
    flow.sink = flow.sink.model_copy(update={"topic_partitions": PARTITIONS})
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        relay = Relay(flow.source)
        relay.start()
        consumer = await start_consumer(flow, source_app)
        try:
            await flow.append(20)
            await wait_until(lambda: _at_least(flow, 20))
            assert await partitions(broker.bootstrap, flow.source.topic) == PARTITIONS
            broker.restart(kill=True)  # memory-only: comes back with no topics
            for _ in range(5):
                await flow.append(4)
                await asyncio.sleep(0.05)
            await wait_until(lambda: _at_least(flow, 40), timeout=90)
            await wait_until(lambda: _republished(relay, broker.bootstrap, flow.source.topic, 40), timeout=90)
        finally:
            await consumer.stop()
            await relay.stop()
    assert await partitions(broker.bootstrap, flow.source.topic) == PARTITIONS


async def _republished(relay: Relay, bootstrap: str, topic: str, seq: int) -> bool:
    return relay.watermark >= seq and await partitions(bootstrap, topic) is not None


async def test_a_topic_of_another_shape_is_reported_and_replaced_only_when_asked(databases, broker):
    topic = "fupin-shape.registry.events"
    assert await ensure_topic(broker.bootstrap, topic, 2) == 2
    assert await ensure_topic(broker.bootstrap, topic, 1) == 2  # reported, kept: it may hold events
    settings = await databases.new("registry", kafka_bootstrap=broker.bootstrap, topic_prefix="fupin-shape",
                                   topic_partitions=1)
    async with serving(registry_app(settings, run_background=False)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and "2 partitions, configured 1" in ready.json()["checks"]["topic"]
    assert await ensure_topic(broker.bootstrap, topic, 1, replace=True) == 1
    assert await partitions(broker.bootstrap, topic) == 1
