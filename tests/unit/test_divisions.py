"""Unit tests for shared.divisions."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ValidationError

from shared.divisions import (
    CODE_PATTERN,
    NATIONAL,
    DivisionCode,
    DivisionError,
    Level,
    ancestors,
    is_west,
    level,
    normalize,
    parent,
    prefix,
    within,
)

JINGHE = "652722000000"  # 精河县
BORTALA = "652700000000"  # 博尔塔拉蒙古自治州
XINJIANG = "650000000000"
TOWNSHIP = "652722100000"
VILLAGE = "652722100201"


class Household(BaseModel):
    division: DivisionCode


def test_division_error_is_value_error() -> None:
    assert issubclass(DivisionError, ValueError)


@pytest.mark.parametrize(
    ("code", "full"),
    [
        ("652722000000", "652722000000"),
        ("652722", "652722000000"),
        ("6527", "652700000000"),
        ("65", "650000000000"),
        ("652722100", "652722100000"),
        ("652722100201", "652722100201"),
        ("650000", "650000000000"),  # padded prefix of a province is fine
        ("110101001001", "110101001001"),
        (NATIONAL, NATIONAL),
        ("00", NATIONAL),
        ("000000", NATIONAL),
    ],
)
def test_normalize_valid(code: str, full: str) -> None:
    assert normalize(code) == full


@pytest.mark.parametrize(
    "code",
    [
        "",
        "6",
        "652",
        "65272",
        "6527221",
        "65272210",
        "6527221002",
        "65272210020",
        "6527221002011",  # 13 digits
        "65272200000a",
        "65272200000 ",
        " 652722",
        "652722\n",
        "65-2722",
        "６５２７２２",  # full-width digits
        "６５",
        "652722.0",
    ],
)
def test_normalize_rejects_bad_shape(code: str) -> None:
    with pytest.raises(DivisionError, match="must be 12 digits"):
        normalize(code)


@pytest.mark.parametrize("code", ["002722000000", "000100000000", "000000000001", "0001", "000022"])
def test_normalize_rejects_zero_province(code: str) -> None:
    with pytest.raises(DivisionError, match="province part must not be 00"):
        normalize(code)


@pytest.mark.parametrize(
    "code",
    [
        "652722000001",  # village under a zero township
        "650022000000",  # county under a zero city
        "650000100000",  # township under a zero city and county
        "652700100000",  # township under a zero county
        "650000000001",
        "652700000201",
        "650022",
    ],
)
def test_normalize_rejects_inconsistent_zeros(code: str) -> None:
    with pytest.raises(DivisionError, match="inconsistent"):
        normalize(code)


@pytest.mark.parametrize("value", [652722000000, None, 65.0, b"652722", ["65"]])
def test_normalize_rejects_non_str(value: object) -> None:
    with pytest.raises(DivisionError, match="must be a string"):
        normalize(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (NATIONAL, Level.CENTRAL),
        (XINJIANG, Level.PROVINCE),
        ("65", Level.PROVINCE),
        (BORTALA, Level.CITY),
        (JINGHE, Level.COUNTY),
        (TOWNSHIP, Level.TOWNSHIP),
        ("652722001000", Level.TOWNSHIP),
        (VILLAGE, Level.VILLAGE),
        ("652722100001", Level.VILLAGE),
        ("110101000000", Level.COUNTY),
    ],
)
def test_level(code: str, expected: Level) -> None:
    assert level(code) is expected


def test_level_rejects_invalid() -> None:
    with pytest.raises(DivisionError):
        level("652722000001")


def test_level_values_and_labels() -> None:
    assert [lvl.value for lvl in Level] == ["central", "province", "city", "county", "township", "village"]
    assert [lvl.label_zh for lvl in Level] == ["中央", "省", "市", "县", "乡镇", "村"]
    assert Level("county") is Level.COUNTY
    assert Level.COUNTY == "county"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (VILLAGE, TOWNSHIP),
        (TOWNSHIP, JINGHE),
        (JINGHE, BORTALA),
        (BORTALA, XINJIANG),
        (XINJIANG, NATIONAL),
        (NATIONAL, None),
        ("652722", BORTALA),
    ],
)
def test_parent(code: str, expected: str | None) -> None:
    assert parent(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (NATIONAL, ""),
        (XINJIANG, "65"),
        (BORTALA, "6527"),
        (JINGHE, "652722"),
        (TOWNSHIP, "652722100"),
        (VILLAGE, VILLAGE),
        ("652722001000", "652722001"),
        ("652722001", "652722001"),
    ],
)
def test_prefix(code: str, expected: str) -> None:
    assert prefix(code) == expected


@pytest.mark.parametrize(
    ("code", "jurisdiction"),
    [
        (VILLAGE, JINGHE),
        (VILLAGE, TOWNSHIP),
        (VILLAGE, BORTALA),
        (VILLAGE, XINJIANG),
        (VILLAGE, NATIONAL),
        (VILLAGE, VILLAGE),  # a division is within its own jurisdiction
        (JINGHE, JINGHE),
        (JINGHE, "652722"),  # short forms
        ("652722", "65"),
        (XINJIANG, NATIONAL),
        (NATIONAL, NATIONAL),
        ("110101001001", NATIONAL),
    ],
)
def test_within_true(code: str, jurisdiction: str) -> None:
    assert within(code, jurisdiction) is True


@pytest.mark.parametrize(
    ("code", "jurisdiction"),
    [
        (JINGHE, VILLAGE),  # a county is not under its village
        (JINGHE, TOWNSHIP),
        (XINJIANG, JINGHE),
        (NATIONAL, XINJIANG),
        ("652723000000", JINGHE),  # sibling county
        ("652722200201", TOWNSHIP),  # village of a sibling township
        ("652722100202", VILLAGE),  # sibling village
        ("110101000000", XINJIANG),
        ("652801000000", BORTALA),
        ("652722100201", "652722101000"),  # township 101 vs 100: compare the whole prefix
    ],
)
def test_within_false(code: str, jurisdiction: str) -> None:
    assert within(code, jurisdiction) is False


@pytest.mark.parametrize(
    ("code", "jurisdiction"),
    [("652722000001", NATIONAL), (JINGHE, "650022000000"), ("x", JINGHE), (JINGHE, "")],
)
def test_within_rejects_invalid(code: str, jurisdiction: str) -> None:
    with pytest.raises(DivisionError):
        within(code, jurisdiction)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (VILLAGE, [VILLAGE, TOWNSHIP, JINGHE, BORTALA, XINJIANG]),
        (JINGHE, [JINGHE, BORTALA, XINJIANG]),
        ("652722", [JINGHE, BORTALA, XINJIANG]),
        (XINJIANG, [XINJIANG]),
        (NATIONAL, []),
    ],
)
def test_ancestors(code: str, expected: list[str]) -> None:
    assert ancestors(code) == expected


@pytest.mark.parametrize("province", ["15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"])
def test_is_west_true(province: str) -> None:
    assert is_west(province) is True
    assert is_west(province + "0100000000") is True


@pytest.mark.parametrize(
    "code",
    ["11", "12", "13", "14", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "46", "110101000000", NATIONAL],
)
def test_is_west_false(code: str) -> None:
    assert is_west(code) is False


def test_is_west_rejects_invalid() -> None:
    with pytest.raises(DivisionError):
        is_west("6")


# --- pydantic ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "full"), [("652722", JINGHE), (VILLAGE, VILLAGE), ("65", XINJIANG)])
def test_division_code_field_normalizes(raw: str, full: str) -> None:
    assert Household(division=raw).division == full
    assert Household.model_validate_json(f'{{"division": "{raw}"}}').division == full


@pytest.mark.parametrize(
    "raw",
    ['{"division": "652722000001"}', '{"division": "65272"}', '{"division": 652722000000}', '{"division": null}'],
)
def test_division_code_field_rejects(raw: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Household.model_validate_json(raw)
    (error,) = exc.value.errors()
    assert error["loc"] == ("division",)


def test_division_code_field_bilingual_error() -> None:
    with pytest.raises(ValidationError) as exc:
        Household(division="650022000000")
    (error,) = exc.value.errors()
    assert error["type"] == "value_error"
    assert "区划代码不一致" in error["msg"] and "inconsistent" in error["msg"]


def test_division_code_json_schema() -> None:
    schema = Household.model_json_schema()["properties"]["division"]
    assert schema["type"] == "string"
    assert schema["pattern"] == CODE_PATTERN
    for ok in ["65", "6527", "652722", "652722100", "652722100201"]:
        assert re.match(CODE_PATTERN, ok)
    for bad in ["6", "652", "65272210", "6527221002011"]:
        assert not re.match(CODE_PATTERN, bad)
