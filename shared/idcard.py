"""18-digit resident identity numbers (居民身份证号码) per GB 11643-1999, and masking.

Layout: 6-digit region (地址码) + 8-digit birth date YYYYMMDD (出生日期码) + 3-digit serial
(顺序码, odd = male) + check digit (校验码, ISO 7064 MOD 11-2, ``X`` for 10).

Full numbers must never reach logs or public pages: use ``mask`` for one number and
``shared.masking.mask_personal_numbers`` for free text.
Error messages never echo the number or the expected check digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

from shared.clock import SystemClock

__all__ = [
    "PROVINCE_CODES",
    "IdCard",
    "IdCardError",
    "IdNumber",
    "check_digit",
    "is_valid",
    "make_id",
    "mask",
    "mask_phone",
    "parse",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643; check_digit computes it in base 13
_CHECK_CHARS = "10X98765432"

# 11-15 华北, 21-23 东北, 31-37 华东, 41-46 中南, 50-54 西南, 61-65 西北, 71 台湾, 81 香港, 82 澳门.
PROVINCE_CODES = frozenset(
    [str(n) for r in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65)) for n in range(r[0], r[1] + 1)]
    + ["71", "81", "82"]
)

_DIGITS17_RE = re.compile(r"[0-9]{17}")  # not \d: that would accept full-width digits
_NUMBER_RE = re.compile(r"[0-9]{17}[0-9X]")


class IdCardError(ValueError):
    """A string that is not a valid resident identity number."""


@dataclass(frozen=True)
class IdCard:
    number: str  # normalised: a trailing x is upper-cased
    region: str  # 6-digit 地址码
    birth_date: date
    sex: Literal["male", "female"]


def check_digit(first17: str) -> str:
    """The check digit (``0``-``9`` or ``X``) for the first 17 digits of an ID number."""
    if not isinstance(first17, str) or not _DIGITS17_RE.fullmatch(first17):
        raise IdCardError("校验码计算需要17位数字 (check digit needs exactly 17 digits)")
    # the weights are 2**(18-i) mod 11 and 13 = 2 (mod 11): the sum is 2 * int(first17, 13) mod 11,
    # with the digit loop done by int() in C
    return _CHECK_CHARS[2 * int(first17, 13) % 11]


def parse(number: str, today: date | None = None) -> IdCard:
    """Validate an ID number and split it into its fields.

    ``today`` bounds the birth date (default: today's date in China); births before 1900
    are rejected too.
    """
    if not isinstance(number, str):
        raise IdCardError(
            f"身份证号码必须是字符串 (ID number must be a string, got {type(number).__name__})"
        )
    if len(number) != 18:
        raise IdCardError(
            f"身份证号码应为18位，实际为{len(number)}位 (ID number must be 18 characters, got {len(number)})"
        )
    number = number[:17] + number[17].upper()
    if not _NUMBER_RE.fullmatch(number):
        raise IdCardError(
            "身份证号码只能包含数字，最后一位可以是X "
            "(ID number may contain only digits; the last character may be X)"
        )
    if number[:2] not in PROVINCE_CODES:
        raise IdCardError(
            "身份证号码前两位不是有效的省级行政区划代码 "
            "(the first two digits are not a valid province code)"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdCardError(
            "身份证号码中的出生日期不存在 (the birth date in the ID number is not a real date)"
        ) from None
    if birth.year < 1900:
        raise IdCardError("出生日期早于1900年 (the birth date is before 1900)")
    if today is None:
        today = SystemClock().today()
    if birth > today:
        raise IdCardError("出生日期晚于今天 (the birth date is in the future)")
    if check_digit(number[:17]) != number[17]:
        raise IdCardError("身份证号码校验码不正确 (the check digit does not match)")
    return IdCard(
        number=number,
        region=number[:6],
        birth_date=birth,
        sex="male" if int(number[16]) % 2 else "female",
    )


def is_valid(number: str, today: date | None = None) -> bool:
    """Whether ``parse`` accepts ``number``."""
    try:
        parse(number, today)
    except IdCardError:
        return False
    return True


def make_id(region: str, birth: date, serial: int) -> str:
    """Build a number with a correct check digit (for tests and demo data).

    ``serial`` is the 3-digit 顺序码 (0-999; odd = male).
    """
    if not isinstance(region, str) or not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError(f"region must be 6 ASCII digits, got {region!r}")
    if region[:2] not in PROVINCE_CODES:
        raise ValueError(f"region {region!r} does not start with a valid province code")
    if not isinstance(birth, date) or not 1900 <= birth.year <= 9999:
        raise ValueError(f"birth must be a date from 1900 on, got {birth!r}")
    if not isinstance(serial, int) or isinstance(serial, bool) or not 0 <= serial <= 999:
        raise ValueError(f"serial must be an int in 0-999, got {serial!r}")
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def mask(number: str) -> str:
    """``652722********1234``: first 6 and last 4 kept, the birth date always hidden.

    Works on any string, valid or not; a string that is not 18 characters long is masked
    completely, so the input is never returned as is.
    """
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[14:]


_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_MIN_PARTIAL_PHONE = 8  # shorter numbers would show too much of themselves: mask them fully


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; other numbers keep the first 3 and last 2.

    Strings shorter than 8 characters are masked completely.
    """
    if _MOBILE_RE.fullmatch(phone):
        return phone[:3] + "****" + phone[7:]
    if len(phone) < _MIN_PARTIAL_PHONE:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


def _validate_id_number(value: str) -> str:
    return parse(value).number


IdNumber = Annotated[
    str,
    AfterValidator(_validate_id_number),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[0-9]{17}[0-9Xx]$", "examples": ["11010519491231002X"]}
    ),
]
"""An ID number field: validated by ``parse``, held in normalised form (upper-case X)."""
