"""Unit tests for shared.money."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.money import MAX_FEN, YUAN_PATTERN, Fen, MoneyError, Yuan, format_fen, parse_yuan


class Payment(BaseModel):
    amount: Yuan


class Internal(BaseModel):
    amount: Fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.0", 0),
        ("0.00", 0),
        ("0.05", 5),
        ("0.5", 50),
        ("0.50", 50),
        ("1", 100),
        ("1.1", 110),
        ("12.34", 1234),
        ("1234.56", 123456),
        ("100", 10000),
        ("10000000000000", MAX_FEN),  # exactly the maximum is allowed
        ("9999999999999.99", MAX_FEN - 1),
    ],
)
def test_parse_yuan_valid(text: str, fen: int) -> None:
    result = parse_yuan(text)
    assert result == fen
    assert type(result) is int


@pytest.mark.parametrize(
    "text",
    [
        "12.345",  # three decimals
        "0.001",
        "-1",  # negative
        "-0",
        "-0.01",
        "1e3",  # exponent
        "1E3",
        "abc",
        "",
        " 1",  # no trimming at all
        "1 ",
        "1\n",
        "\t1",
        "01",  # leading zero
        "00",
        "00.5",
        "1.",  # bare dot
        ".5",
        ".",
        "+1",  # sign
        "1,000",  # thousands separator
        "1,5",
        "１２",  # full-width digits
        "1２",
        "١٢",  # Arabic-Indic digits
        "1.2.3",
        "NaN",
        "Infinity",
        "0x10",
        "1_000",
        "¥1",
        "1元",
    ],
)
def test_parse_yuan_rejects_bad_format(text: str) -> None:
    with pytest.raises(MoneyError, match="invalid amount"):
        parse_yuan(text)


@pytest.mark.parametrize("value", [100, 1.5, Decimal("1.50"), None, True, False, b"1", ["1"]])
def test_parse_yuan_rejects_non_str(value: object) -> None:
    with pytest.raises(MoneyError, match="must be a string"):
        parse_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["10000000000000.01", "10000000000001", "99999999999999999999"])
def test_parse_yuan_rejects_over_max(text: str) -> None:
    with pytest.raises(MoneyError, match="exceeds the maximum"):
        parse_yuan(text)


def test_money_error_is_value_error() -> None:
    assert issubclass(MoneyError, ValueError)


def test_max_fen_is_json_safe() -> None:
    assert MAX_FEN == 10**15
    assert MAX_FEN < 2**53
    assert MAX_FEN < 2**63 - 1


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (50, "0.50"),
        (100, "1.00"),
        (123456, "1234.56"),
        (-5, "-0.05"),
        (-100, "-1.00"),
        (-123456, "-1234.56"),
        (MAX_FEN, "10000000000000.00"),
    ],
)
def test_format_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


@pytest.mark.parametrize("value", [True, False, 1.0, "100", Decimal(1), None])
def test_format_fen_rejects_non_int(value: object) -> None:
    with pytest.raises(MoneyError, match="must be an int"):
        format_fen(value)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_round_trip_fen(fen: int) -> None:
    assert parse_yuan(format_fen(fen)) == fen


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_format_fen_matches_decimal(fen: int) -> None:
    assert Decimal(format_fen(fen)) == Decimal(fen) / 100


@given(st.from_regex(r"\A(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?\Z"))
def test_round_trip_yuan_text(text: str) -> None:
    fen = parse_yuan(text)
    assert Decimal(format_fen(fen)) == Decimal(text)


# --- pydantic ---------------------------------------------------------------------------


def test_yuan_field_holds_fen_and_dumps_string() -> None:
    p = Payment.model_validate_json('{"amount": "1234.56"}')
    assert p.amount == 123456
    assert type(p.amount) is int
    assert p.model_dump() == {"amount": 123456}
    assert p.model_dump(mode="json") == {"amount": "1234.56"}
    assert json.loads(p.model_dump_json()) == {"amount": "1234.56"}


def test_yuan_field_python_str_input() -> None:
    assert Payment(amount="0.5").amount == 50


@pytest.mark.parametrize("raw", ['{"amount": 1234.56}', '{"amount": 100}', '{"amount": null}', '{"amount": true}'])
def test_yuan_field_rejects_json_numbers(raw: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Payment.model_validate_json(raw)
    (error,) = exc.value.errors()
    assert error["type"] == "value_error"
    assert error["loc"] == ("amount",)
    assert "must be a string" in error["msg"]


@pytest.mark.parametrize("value", [123456, 1.5, Decimal("1.5")])
def test_yuan_field_rejects_python_non_str(value: object) -> None:
    # No int pass-through: code holding fen uses Fen or format_fen.
    with pytest.raises(ValidationError):
        Payment(amount=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["12.345", "-1", "1e3", " 1", "10000000000000.01"])
def test_yuan_field_rejects_bad_strings(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Payment.model_validate({"amount": value})
    (error,) = exc.value.errors()
    assert error["type"] == "value_error"
    assert "(" in error["msg"] and ")" in error["msg"]  # bilingual: 中文 (English)


def test_yuan_json_schema() -> None:
    schema = Payment.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string"
    assert schema["pattern"] == YUAN_PATTERN
    assert schema["examples"] == ["1234.56"]
    ta = TypeAdapter(Yuan)
    assert ta.json_schema(mode="serialization")["type"] == "string"


@pytest.mark.parametrize("value", [0, 1, MAX_FEN])
def test_fen_field_accepts(value: int) -> None:
    assert Internal(amount=value).amount == value
    assert Internal.model_validate_json(json.dumps({"amount": value})).amount == value


@pytest.mark.parametrize("value", [-1, MAX_FEN + 1, True, 1.0, 1.5, "100", Decimal(1), None])
def test_fen_field_rejects(value: object) -> None:
    with pytest.raises(ValidationError):
        Internal(amount=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ['{"amount": 1.0}', '{"amount": "100"}', '{"amount": -1}'])
def test_fen_field_rejects_json(raw: str) -> None:
    with pytest.raises(ValidationError):
        Internal.model_validate_json(raw)
