"""Fupin's topics (``<prefix>.<service>.events``): created by Fupin only, in the configured shape.

1. **No client auto-creates a topic.** Every aiokafka client of this process (producer, consumer,
   admin) sends its metadata requests with ``allow_auto_topic_creation = false``: a consumer that
   subscribes to a topic the broker lost, or a producer that sends to it, does not bring it back in
   the broker's default shape. aiokafka has no setting for it (its metadata request defaults to
   true), so the default is changed once, here, on import. Brokers should refuse too: Apache Kafka
   with ``auto.create.topics.enable=false`` (docker-compose.yml); the embedded Tansu broker honours
   the request flag.
2. **Fupin creates them** with ``FUPIN_TOPIC_PARTITIONS`` partitions and ``FUPIN_TOPIC_RETENTION_MS``
   retention (-1: unlimited): the relay before it publishes, a consumer before it subscribes.
3. **A topic of another shape is reported, or replaced when it holds nothing to lose.** Found with
   another partition count, it is logged as a warning and readiness says so (503); the relay, when
   it finds the broker lost its events (it republishes the whole log anyway), deletes such a topic
   and creates it again in the configured shape.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

from shared.logging import get_logger

log = get_logger("fupin.topics")

UNKNOWN_TOPIC = 3  # Kafka error code UNKNOWN_TOPIC_OR_PARTITION
_build = MetadataRequest.build


def _build_without_auto_create(self, request_struct_class):
    if self._allow_auto_topic_creation is None:  # guarantee 1: asked for explicitly, or never
        self._allow_auto_topic_creation = False
    return _build(self, request_struct_class)


MetadataRequest.build = _build_without_auto_create


class TopicShape(Exception):
    """A topic whose partition count is not the configured one."""


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    return admin


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> int | None:
    """The topic's partition count; None when the broker does not have it."""
    [described] = await admin.describe_topics([topic])
    if described.get("error_code") == UNKNOWN_TOPIC:
        return None
    return len(described.get("partitions") or ())


async def ensure_topic(bootstrap: str, topic: str, partitions: int, retention_ms: int = -1, *,
                       replace: bool = False) -> int:
    """Create ``topic`` in the configured shape if missing (guarantee 2); with ``replace``, delete
    and create again one of another partition count (guarantee 3). Returns the partition count the
    topic has afterwards (a wrong one is logged)."""
    admin = await _admin(bootstrap)
    try:
        for _ in range(50):  # a deletion completes asynchronously on the broker
            found = await partitions_of(admin, topic)
            if found == partitions:
                return found
            if found is not None and not replace:
                log.warning("topic has another partition count than configured", topic=topic,
                            partitions=found, configured=partitions)
                return found
            if found is not None:
                log.warning("replacing a topic of the wrong shape", topic=topic, partitions=found,
                            configured=partitions)
                await admin.delete_topics([topic])
                await asyncio.sleep(0.1)
                continue
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                                    topic_configs={"retention.ms": str(retention_ms)})])
            except TopicAlreadyExistsError:
                await asyncio.sleep(0.1)
        raise TopicShape(f"topic {topic} could not be given {partitions} partitions")
    finally:
        await admin.close()


async def shape_problem(bootstrap: str, topic: str, partitions: int) -> str | None:
    """For readiness: None when the topic has the configured partition count or does not exist
    yet (the relay creates it), else what is wrong."""
    admin = await _admin(bootstrap)
    try:
        found = await partitions_of(admin, topic)
    finally:
        await admin.close()
    if found is None or found == partitions:
        return None
    return f"{topic} has {found} partitions, configured {partitions}"
