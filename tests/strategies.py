"""Hypothesis strategies for hostile input, shared by the service tests.

``hostile_text()`` — strings a client could send that no route may answer with a 5xx: control
characters (NUL first of all), lone surrogates, zero-width and other invisible characters, huge
strings; ``deep_json()`` — JSON texts nested far beyond any schema; ``blank_names()`` — what looks
like a name to a length check but shows nothing.
"""

from __future__ import annotations

from hypothesis import strategies as st

CONTROLS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))]
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u3000", "\u00a0", "\u2028", "\u3164",
              "\u115f", "\u034f", "\u180e", " ", "\u2800"]


def controls() -> st.SearchStrategy[str]:
    return st.sampled_from(CONTROLS)


def with_control(base: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Ordinary text with one forbidden character somewhere in it (always at least one)."""
    base = base or st.text(alphabet=st.sampled_from("王李张村户abc123 "), max_size=12)
    return st.tuples(base, controls(), base).map("".join)


def blank_names() -> st.SearchStrategy[str]:
    """Non-empty strings made only of spaces and invisible characters."""
    return st.lists(st.sampled_from(INVISIBLES), min_size=1, max_size=8).map("".join)


def huge_text(min_size: int = 10_000) -> st.SearchStrategy[str]:
    return st.integers(min_size, min_size * 4).map(lambda n: "很" * n)


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(with_control(), blank_names(), huge_text(), st.just("\ud800"), st.just("a\udfffb"))


def deep_json(min_depth: int = 100, max_depth: int = 5000) -> st.SearchStrategy[bytes]:
    """A JSON text nested ``min_depth``–``max_depth`` deep, arrays and objects mixed, balanced or not."""
    def build(depth: int, objects: bool, balanced: bool) -> bytes:
        opener, closer = (b'{"a":', b"}") if objects else (b"[", b"]")
        return opener * depth + b"1" + (closer * depth if balanced else b"")

    return st.builds(build, st.integers(min_depth, max_depth), st.booleans(), st.booleans())
