"""Events: the envelope and hash chain (chain), the store (append/read/verify), the grouped
writer of standalone appends (writer), the feed router, the relay to Kafka and the consumer."""

from shared.events import topics as _topics  # noqa: F401 — on import: no aiokafka client auto-creates a topic
from shared.events.store import NewEvent, append
from shared.events.writer import EventWriter

__all__ = ["EventWriter", "NewEvent", "append"]
