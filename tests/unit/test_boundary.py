"""Unit tests of the input boundary's pure parts: the depth scan agrees with a parser, and the
control-character walk names the JSON path."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.web.boundary import json_control_errors, json_depth_exceeds

TRICKY_TEXT = st.text(alphabet=st.sampled_from('ab[]{}"\\/\u4e00\u00b7 '), max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3),
    max_leaves=30,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=500, deadline=None)
@given(value=JSON_VALUES, limit=st.integers(1, 8), ascii_only=st.booleans())
def test_the_depth_scan_agrees_with_a_parser(value, limit, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_depth_exceeds(raw, limit) == (depth(value) > limit)


def test_unbalanced_or_mismatched_brackets_are_refused():
    assert json_depth_exceeds(b"[" * 1000, 32)
    assert json_depth_exceeds(b"[}", 32)
    assert not json_depth_exceeds(b'{"a": "[[[[[[["}', 2)


def test_control_characters_are_named_by_their_path():
    document = {"members": [{"name": "ok"}, {"name": "李\x00某", "details": {"k\x07": "v"}}], "note": "a\nb\tc"}
    assert [e["field"] for e in json_control_errors(document)] == ["members.1.name", "members.1.details.k\x07"]
