"""Unit tests for shared.idcard."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.idcard import (
    PROVINCE_CODES,
    IdCard,
    IdCardError,
    IdNumber,
    check_digit,
    is_valid,
    make_id,
    mask,
    mask_phone,
    parse,
)

SAMPLE = "11010519491231002X"  # published sample number (GB 11643 examples)
TODAY = date(2024, 6, 30)
JINGHE = "652722"


def with_check(first17: str) -> str:
    return first17 + check_digit(first17)


class Person(BaseModel):
    id_number: IdNumber


def test_id_card_error_is_value_error() -> None:
    assert issubclass(IdCardError, ValueError)


# --- check digit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),
        ("00000000000000000", "1"),  # sum 0 → index 0
        ("10000000000000000", "5"),  # sum 7
        ("01000000000000000", "3"),  # sum 9
        ("00100000000000000", "2"),  # sum 10
        ("00000000000000001", "X"),  # sum 2
    ],
)
def test_check_digit(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100a",
                                 "１１０１０５１９４９１２３１００２", None])
def test_check_digit_rejects(bad: object) -> None:
    with pytest.raises(IdCardError, match="17 digits"):
        check_digit(bad)  # type: ignore[arg-type]


@given(st.from_regex(r"\A[0-9]{17}\Z"))
def test_check_digit_satisfies_mod_11_2(first17: str) -> None:
    # ISO 7064 MOD 11-2: with weight 1 for the check digit, the weighted sum is 1 mod 11.
    weights = [pow(2, 17 - i, 11) for i in range(18)]
    number = first17 + check_digit(first17)
    values = [10 if c == "X" else int(c) for c in number]
    assert sum(v * w for v, w in zip(values, weights)) % 11 == 1


# --- parse ------------------------------------------------------------------------------


def test_parse_published_sample() -> None:
    card = parse(SAMPLE, today=TODAY)
    assert card == IdCard(number=SAMPLE, region="110105", birth_date=date(1949, 12, 31), sex="female")
    assert is_valid(SAMPLE)


def test_parse_lowercase_x_is_normalised() -> None:
    assert parse(SAMPLE.lower(), today=TODAY).number == SAMPLE
    assert is_valid(SAMPLE.lower())


@pytest.mark.parametrize(
    ("serial", "sex"), [(0, "female"), (1, "male"), (2, "female"), (123, "male"), (998, "female"), (999, "male")]
)
def test_parse_sex_from_17th_digit(serial: int, sex: str) -> None:
    number = make_id(JINGHE, date(1980, 2, 29), serial)
    card = parse(number, today=TODAY)
    assert card.sex == sex
    assert card.region == JINGHE
    assert card.birth_date == date(1980, 2, 29)
    assert card.number == number


def test_id_card_is_frozen() -> None:
    card = parse(SAMPLE, today=TODAY)
    with pytest.raises(AttributeError):
        card.number = "x"  # type: ignore[misc]


@pytest.mark.parametrize("number", ["", "1", SAMPLE[:17], SAMPLE + "1", SAMPLE[:15], " " + SAMPLE, SAMPLE + "\n"])
def test_parse_rejects_wrong_length(number: str) -> None:
    with pytest.raises(IdCardError, match="must be 18 characters"):
        parse(number, today=TODAY)


@pytest.mark.parametrize(
    "number",
    [
        "X1010519491231002X",  # X only allowed last
        "1101051949123100XX",
        "11010519491231002Y",
        "1101051949 231002X",
        "11010519491231002-",
        "-1010519491231002X",
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "110105194912310０2X",
        "11010519491231002Ｘ",  # full-width X
        "abcdefghijklmnopqr",
    ],
)
def test_parse_rejects_bad_characters(number: str) -> None:
    assert len(number) == 18
    with pytest.raises(IdCardError, match="only digits"):
        parse(number, today=TODAY)


@pytest.mark.parametrize(
    "region",
    ["000000", "100105", "160105", "200105", "240105", "300105", "380105", "400105", "470105",
     "490105", "550105", "600105", "660105", "700105", "720105", "800105", "830105", "990105"],
)
def test_parse_rejects_bad_region(region: str) -> None:
    number = with_check(region + "19800101" + "001")
    with pytest.raises(IdCardError, match="not a valid province code"):
        parse(number, today=TODAY)


@pytest.mark.parametrize("province", sorted(PROVINCE_CODES))
def test_parse_accepts_every_province(province: str) -> None:
    assert parse(make_id(province + "0101", date(1980, 1, 1), 1), today=TODAY).region == province + "0101"


def test_province_codes_are_exactly_the_standard_ones() -> None:
    expected = {*map(str, range(11, 16)), *map(str, range(21, 24)), *map(str, range(31, 38)),
                *map(str, range(41, 47)), *map(str, range(50, 55)), *map(str, range(61, 66)), "71", "81", "82"}
    assert PROVINCE_CODES == expected


@pytest.mark.parametrize("birth",
                         ["19800230", "19810229", "19800001", "19801301", "19800100", "19800431", "00000000", "19000229"])
def test_parse_rejects_impossible_birth_date(birth: str) -> None:
    number = with_check(JINGHE + birth + "001")
    with pytest.raises(IdCardError, match="not a real date"):
        parse(number, today=TODAY)


@pytest.mark.parametrize("birth", ["18991231", "18000101", "00010101"])
def test_parse_rejects_birth_before_1900(birth: str) -> None:
    number = with_check(JINGHE + birth + "001")
    with pytest.raises(IdCardError, match="before 1900"):
        parse(number, today=TODAY)


def test_parse_accepts_1900_and_today() -> None:
    assert parse(make_id(JINGHE, date(1900, 1, 1), 1), today=TODAY).birth_date == date(1900, 1, 1)
    assert parse(make_id(JINGHE, TODAY, 1), today=TODAY).birth_date == TODAY


@pytest.mark.parametrize("birth", [date(2024, 7, 1), date(2025, 1, 1), date(9999, 12, 31)])
def test_parse_rejects_future_birth(birth: date) -> None:
    number = make_id(JINGHE, birth, 1)
    with pytest.raises(IdCardError, match="in the future"):
        parse(number, today=TODAY)
    assert not is_valid(number, today=TODAY)


def test_parse_default_today_rejects_far_future() -> None:
    with pytest.raises(IdCardError, match="in the future"):
        parse(make_id(JINGHE, date(9999, 1, 1), 1))


@pytest.mark.parametrize("wrong", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
def test_parse_rejects_bad_check_digit(wrong: str) -> None:
    number = SAMPLE[:17] + wrong  # correct one is X
    with pytest.raises(IdCardError, match="check digit does not match") as exc:
        parse(number, today=TODAY)
    assert "X" not in str(exc.value)  # the expected digit is not revealed


def test_parse_rejects_check_digit_x_when_digit_expected() -> None:
    number = make_id(JINGHE, date(1980, 1, 1), 1)
    assert number[-1] != "X"
    with pytest.raises(IdCardError, match="check digit does not match") as exc:
        parse(number[:17] + "X", today=TODAY)
    assert not any(c.isdigit() for c in str(exc.value))  # the expected digit is not revealed


def test_parse_rejects_transposed_digits() -> None:
    number = make_id(JINGHE, date(1980, 1, 1), 123)
    swapped = number[:14] + number[15] + number[14] + number[16:]
    assert not is_valid(swapped, today=TODAY)


@pytest.mark.parametrize("value", [None, 11010519491231002, b"11010519491231002X", ["1"]])
def test_parse_rejects_non_str(value: object) -> None:
    with pytest.raises(IdCardError, match="must be a string"):
        parse(value)  # type: ignore[arg-type]
    assert is_valid(value) is False  # type: ignore[arg-type]


def test_error_messages_are_distinct_bilingual_and_never_echo_the_number() -> None:
    cases = [
        "1",
        "11010519491231002Y",
        with_check("990105" + "19800101" + "001"),
        with_check(JINGHE + "19800230" + "001"),
        with_check(JINGHE + "18991231" + "001"),
        make_id(JINGHE, date(2030, 1, 1), 1),
        SAMPLE[:17] + "1",
    ]
    messages = []
    for number in cases:
        with pytest.raises(IdCardError) as exc:
            parse(number, today=TODAY)
        msg = str(exc.value)
        assert number not in msg or len(number) < 4
        assert number[6:14] not in msg or len(number) < 14  # no birth date leaked
        assert "(" in msg and msg.endswith(")")
        messages.append(msg)
    assert len(set(messages)) == len(messages)


def test_is_valid() -> None:
    assert is_valid(make_id(JINGHE, date(1990, 5, 17), 42))
    assert not is_valid("")
    assert not is_valid(SAMPLE[:17] + "0")


@given(
    region=st.sampled_from(sorted(PROVINCE_CODES)).map(lambda p: p + "2722"),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    serial=st.integers(min_value=0, max_value=999),
)
def test_make_id_round_trip(region: str, birth: date, serial: int) -> None:
    number = make_id(region, birth, serial)
    card = parse(number, today=TODAY)
    assert (card.region, card.birth_date) == (region, birth)
    assert card.sex == ("male" if serial % 2 else "female")
    assert number[14:17] == f"{serial:03d}"


@pytest.mark.parametrize(
    ("region", "birth", "serial"),
    [
        ("65272", date(1980, 1, 1), 1),
        ("6527221", date(1980, 1, 1), 1),
        ("65272a", date(1980, 1, 1), 1),
        ("992722", date(1980, 1, 1), 1),
        (JINGHE, date(1899, 12, 31), 1),
        (JINGHE, "19800101", 1),
        (JINGHE, date(1980, 1, 1), -1),
        (JINGHE, date(1980, 1, 1), 1000),
        (JINGHE, date(1980, 1, 1), True),
        (JINGHE, date(1980, 1, 1), 1.0),
    ],
)
def test_make_id_rejects(region: str, birth: date, serial: int) -> None:
    with pytest.raises(ValueError):
        make_id(region, birth, serial)


# --- masking ----------------------------------------------------------------------------


def test_mask() -> None:
    assert mask("652722198001011234") == "652722********1234"
    assert mask(SAMPLE) == "110105********002X"


@given(st.text(min_size=18, max_size=18))
def test_mask_any_18_char_string_hides_middle(text: str) -> None:
    masked = mask(text)
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert masked[:6] == text[:6] and masked[14:] == text[14:]


@given(st.text(max_size=40).filter(lambda s: len(s) != 18))
def test_mask_other_lengths_fully(text: str) -> None:
    assert mask(text) == "*" * len(text)


def test_mask_never_leaks_birth_date() -> None:
    number = make_id(JINGHE, date(1987, 6, 5), 7)
    assert "19870605" not in mask(number)
    assert "1987" not in mask(number)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("19912345678", "199****5678"),
        ("09918765432", "099******32"),  # landline with area code
        ("0991-8765432", "099*******32"),
        ("+8613812345678", "+86*********78"),
        ("12345678", "123***78"),
        ("1234567", "*******"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    assert len(masked) == len(phone)
    if phone:
        assert masked != phone


@given(st.text(max_size=30))
def test_mask_phone_never_returns_unmasked(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    if phone:
        assert "*" in masked


# --- pydantic ---------------------------------------------------------------------------


def test_id_number_field() -> None:
    assert Person(id_number=SAMPLE.lower()).id_number == SAMPLE
    assert Person.model_validate_json(f'{{"id_number": "{SAMPLE}"}}').id_number == SAMPLE


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1101051949123100", "must be 18 characters"),
        (SAMPLE[:17] + "0", "check digit does not match"),
        (with_check(JINGHE + "19800230" + "001"), "not a real date"),
    ],
)
def test_id_number_field_rejects(value: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Person(id_number=value)
    (error,) = exc.value.errors()
    assert error["type"] == "value_error"
    assert error["loc"] == ("id_number",)
    assert fragment in error["msg"]


def test_id_number_field_rejects_json_number() -> None:
    with pytest.raises(ValidationError):
        Person.model_validate_json('{"id_number": 110105194912310021}')
