"""Events of other services that the audit service consumes: {source: {event type: handler}}."""

from shared.events.consumer import Handler

CONSUMES: dict[str, dict[str, Handler]] = {}
