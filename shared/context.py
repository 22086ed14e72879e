"""Request- and handler-scoped context that travels into every appended event.

The web layer sets the correlation id of each request; the consumer sets the causation
(the consumed event) and carries its correlation id over, so an event written by a handler
points at the event in another service that caused it.
"""

from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)
