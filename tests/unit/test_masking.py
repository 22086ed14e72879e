"""Unit and property tests for shared.masking: personal numbers found in any grouping, masked in
place, ordinary numbers left alone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.idcard import make_id
from shared.masking import mask_personal_numbers

SAMPLE = "11010519491231002X"  # published sample number (GB 11643 examples)
JINGHE = "652722"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
SEPARATORS = [" ", "  ", ".", "-", " - ", "\u200b", "\u200c", "\u2060", "\ufeff", "\u3000", "\u00a0", "·", "－", " \u200b"]


@pytest.mark.parametrize(("text", "expected"), [
    (f"户主 {SAMPLE} 已登记", "户主 110105********002X 已登记"),
    (f"id={SAMPLE.lower()}", "id=110105********002x"),
    ("a 652722198001011234,b 652722198001015678.", "a 652722********1234,b 652722********5678."),
    ("身份证号652722198001011234。", "身份证号652722********1234。"),
    ("12345678901234567", "123456*******4567"),  # 15+ digits in one run: masked (partial IDs)
    ("6227001234567890123", "622700*********0123"),  # 19-digit bank account
    ("6222 0200 1234 5678 901", "622202*********8901"),  # a bank card in groups of four
    ("6527 2219 8001 0112 34", "652722********1234"),
    ("652722-19800101-1234", "652722********1234"),
    ("652722.1980.0101.1234", "652722********1234"),
    ("6527221980\u200b0101\u200b1234", "652722********1234"),
    ("６５２７２２１９８００１０１１２３Ｘ", "652722********123X"),
    ("旧证652722800101123号", "旧证652722*****1123号"),  # a 15-digit first-generation ID
    ("电话13812345678", "电话138****5678"),
    ("电话 138 1234 5678。", "电话 138****5678。"),
    ("电话 1381 234 5678", "电话 138****5678"),
    ("+86 138 1234 5678", "+86 138****5678"),
    ("0086-138.1234.5678", "0086 138****5678"),
    ("８６１３８１２３４５６７８", "86 138****5678"),
    ("138  1234  5678", "138****5678"),
    ("２０１７年 电话：138\u200b1234\u200b5678，户主", "２０１７年 电话：138****5678，户主"),
])
def test_personal_numbers_are_masked_in_place(text, expected):
    assert mask_personal_numbers(text) == expected


@pytest.mark.parametrize("text", [
    "1234567890123",  # 13 digits
    "拨付资金1234.56元，余额98765432.10元",
    "日期2017-03-01至2017.12.31，共10天",
    "区划652722000000，村 652722102201 和 652722101201",
    "监督电话0909-5322222，12317",
    "项目 652722-2018-0001",
    "2017年第3季度 共 1,234,567 元",
    "没有号码", "",
])
def test_ordinary_numbers_are_not_masked(text):
    assert mask_personal_numbers(text) == text


@pytest.mark.parametrize("identifier", [
    "01a23cb1-bbd3-7da7-b143-73735736edc2",  # 143-7373-5736: a mobile number's shape
    "01a23cb1-bdb4-7813-9469-526513336f2c",  # 7813-9469-526513336: a bank card's groups of four
    "01a23cb1-c144-7421-9615-305eeeb16fc3", "01A23CB1-C947-7CA1-9395-426788EE18A0",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # a sha256 digest
])
def test_identifiers_are_not_numbers(identifier):
    for text in (identifier, f"/public/announcements/{identifier}/objections?back=board", f"编号{identifier}。"):
        assert mask_personal_numbers(text) == text


def test_numbers_beside_an_identifier_are_still_masked():
    uuid = "01a23cb1-bbd3-7da7-b143-73735736edc2"
    assert mask_personal_numbers(f"{uuid} 电话13812345678") == f"{uuid} 电话138****5678"
    assert mask_personal_numbers(f"13812345678-{uuid}") == f"138****5678-{uuid}"
    assert mask_personal_numbers(f"id {SAMPLE}/{uuid}") == f"id 110105********002X/{uuid}"
    # hex digits without a letter are no identifier: 40 digits in a run are masked like any long run
    assert mask_personal_numbers("1" * 40) == "111111" + "*" * 30 + "1111"


def _grouped(number: str, cuts: list[int], separator: str) -> str:
    pieces, last = [], 0
    for cut in sorted(set(cuts)):
        pieces.append(number[last:cut])
        last = cut
    pieces.append(number[last:])
    return separator.join(p for p in pieces if p)


def _ids():
    return st.builds(lambda day, serial: make_id(JINGHE, day, serial),
                     st.dates(date(1930, 1, 1), date(2020, 12, 31)), st.integers(0, 999))


def _mobiles():
    return st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))


@settings(max_examples=300, deadline=None)
@given(number=_ids(), cuts=st.lists(st.integers(1, 17), max_size=6), separator=st.sampled_from(SEPARATORS),
       full_width=st.booleans(), before=st.sampled_from(["户主", "身份证号：", "id ", ""]),
       after=st.sampled_from(["。", " 已登记", "", "，电话"]))
def test_no_id_survives_any_grouping(number, cuts, separator, full_width, before, after):
    if separator == ".":  # a dot before one or two final digits reads as decimals: groups of 3+ at the end
        cuts = [c for c in cuts if c <= 15]
    written = _grouped(number, cuts, separator)
    if full_width:
        written = written.translate(FULL_WIDTH)
    masked = mask_personal_numbers(before + written + after)
    assert masked.startswith(before) and masked.endswith(after)  # the rest of the text is kept
    digits = re.sub(r"\D", "", masked)
    assert number[6:14] not in digits  # the birth date is never shown
    assert masked == before + number[:6] + "********" + number[14:] + after


@settings(max_examples=300, deadline=None)
@given(mobile=_mobiles(), grouping=st.sampled_from([[3, 7], [4, 7], [3], [7], [], [3, 4, 7], [5, 8]]),
       separator=st.sampled_from(SEPARATORS), prefix=st.sampled_from(["", "+86 ", "+86", "0086 ", "86-"]),
       full_width=st.booleans())
def test_no_mobile_survives_any_grouping(mobile, grouping, separator, prefix, full_width):
    written = prefix + _grouped(mobile, grouping, separator)
    if full_width:
        written = written.translate(FULL_WIDTH)
    masked = mask_personal_numbers(f"联系电话：{written}。")
    assert masked.startswith("联系电话：") and masked.endswith("。")
    assert masked.endswith(mobile[:3] + "****" + mobile[7:] + "。")  # the middle four digits are gone
    assert masked.count("*") == 4


@settings(max_examples=200, deadline=None)
@given(yuan=st.integers(0, 10**9), fen=st.integers(0, 99), day=st.dates(date(2000, 1, 1), date(2100, 12, 31)),
       division=st.integers(0, 999999).map(lambda n: f"652722{n:06d}"))
def test_amounts_dates_and_division_codes_stay(yuan, fen, day, division):
    text = f"拨付{yuan}.{fen:02d}元，{day.isoformat()}，{day:%Y.%m.%d}，区划{division}"
    assert mask_personal_numbers(text) == text
