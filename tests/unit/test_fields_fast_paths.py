"""The fast paths of shared.fields agree with the plain definitions: a character the quick test
calls visible is visible after NFKC, the control-character pattern is category Cc exactly, and
is_visible answers as visible_length does."""

import sys
import unicodedata

import pytest

from shared import fields

EVERY_CHARACTER = [chr(i) for i in range(sys.maxunicode + 1)]


def test_every_plainly_visible_character_is_visible_after_nfkc():
    plain = [c for c in EVERY_CHARACTER if fields._PLAINLY_VISIBLE.search(c)]
    assert len(plain) == 10 + 52 + (0x9FFF - 0x4E00 + 1)
    assert [c for c in plain if fields.visible_length(c) == 0] == []


def test_the_control_pattern_is_category_cc_exactly():
    assert ([c for c in EVERY_CHARACTER if fields._CONTROL.search(c)]
            == [c for c in EVERY_CHARACTER if unicodedata.category(c) == "Cc"])


@pytest.mark.parametrize("value", ["户000123", "张三", "Zhang San", "  a ", "\u3000\u200b", "\u115f\u1160", " ", "",
                                   "\u0301", "ｱ", "\u2800x", "\u00a0\u2003", "\ufeff", "１"])
def test_is_visible_answers_as_visible_length(value):
    assert fields.is_visible(value) == (fields.visible_length(value) > 0)
