"""The rebuilders read logs they do not trust. Before a handler keeps anything of an event, the
event's data is checked against what that handler reads — one ``TypedDict`` per event type,
converted by msgspec (``strict``: no text taken for a number): a member missing or of another
type raises ``msgspec.ValidationError`` naming it (``Expected `str`, got `array` - at `$.due```),
the replay records the event as unreadable (services.audit.run.unreadable) and keeps nothing of
it but its count. What is kept is then of the types the audit's checks (compliance, figures,
statistics) use, and of the values they need where a schema says so (a division code, a day, a
population ≥ 0); what the registry's statistics refuse of a rebuilt household is named apart
(``RegistryRebuilt.refused_households``).
Members a handler does not read are not checked; an event type without a schema is read by
``.get`` only.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any, Callable, Mapping

import msgspec

from shared.divisions import normalize


class Division(str):
    """A division code as the registry's ``divisions.normalize`` accepts it (12 digits, or a 2/4/6/9
    digit prefix, its parts consistent): what the audit's checks and the policy table look up."""


class DivisionOrEmpty(str):
    """A :class:`Division`, or "" (not known)."""


#: non-empty text (an id, a number)
Text = Annotated[str, msgspec.Meta(min_length=1)]
#: a day written as ISO 8601 text (kept as the text; checked to be a date)
Day = date


def _division(kind: type, value: Any) -> Any:
    if kind is not Division and kind is not DivisionOrEmpty:
        raise NotImplementedError
    if not isinstance(value, str):
        raise TypeError(f"expected a division code, got {type(value).__name__}")
    if value or kind is Division:
        normalize(value)  # raises DivisionError (a ValueError) naming what is wrong
    return kind(value)


def convert(value: Any, schema: Any) -> Any:
    """``value`` checked against ``schema`` (raises ``msgspec.ValidationError`` naming the member);
    the converted copy is returned, the rebuilders go on reading ``value``."""
    return msgspec.convert(value, schema, dec_hook=_division)


def checker(schemas: Mapping[str, Any], default: Any = None) -> Callable[[Mapping[str, Any]], None]:
    """``check(event)``: raises when the event's type or subject is not text, or its data does not
    fit the schema of its type (``default``: of any type without one; None: unchecked)."""
    converters = {kind: partial(convert, schema=schema) for kind, schema in schemas.items()}
    otherwise = None if default is None else partial(convert, schema=default)

    def check(event: Mapping[str, Any]) -> None:
        kind, subject = event["type"], event["subject"]
        if type(kind) is not str or type(subject) is not str:
            raise TypeError(f"type and subject must be text, got {kind!r} and {subject!r}")
        check_data = converters.get(kind, otherwise)
        if check_data is not None:
            check_data(event["data"])

    return check
