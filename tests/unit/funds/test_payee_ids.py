"""The household payee id pattern (services.funds.usecases.payments._CANONICAL_UUID) accepts
exactly the strings the plain definition does: ``str(uuid.UUID(s)) == s``."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.funds.usecases.payments import _CANONICAL_UUID


def plain(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def spellings(u: uuid.UUID) -> list[str]:
    s = str(u)
    return [s, s.upper(), s.replace("-", ""), "{" + s + "}", "urn:uuid:" + s, s + "\n", " " + s, s[:-1], s + "0",
            s[:8] + "_" + s[9:], s.replace("a", "g")]


@given(st.uuids(version=None) | st.uuids(version=4))
def test_the_pattern_agrees_with_parsing_on_every_spelling_of_a_uuid(u):
    for value in spellings(u):
        assert bool(_CANONICAL_UUID.fullmatch(value)) == plain(value), value


@given(st.text(alphabet="0123456789abcdefABCDEF-{}:urnid \n", max_size=45))
def test_the_pattern_agrees_with_parsing_on_arbitrary_text(value):
    assert bool(_CANONICAL_UUID.fullmatch(value)) == plain(value)
