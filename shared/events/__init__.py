"""Events: the envelope and hash chain (chain), the store (append/read/verify), the feed router,
the relay to Kafka and the consumer."""

from shared.events import topics as _topics  # noqa: F401 — on import: no aiokafka client auto-creates a topic
from shared.events.store import NewEvent, append

__all__ = ["NewEvent", "append"]
