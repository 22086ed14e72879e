"""Events: the envelope and hash chain (chain), the store (append/read/verify), the feed router,
the relay to Kafka and the consumer."""

from shared.events.store import NewEvent, append

__all__ = ["NewEvent", "append"]
