"""Statistical division codes (统计用区划代码): 12 digits, one division per code.

Layout: 2 province (省) + 2 city (市) + 2 county (县) + 3 township (乡镇) + 3 village (村),
e.g. 精河县 = ``652722000000`` and its villages ``652722xxxyyy``.  A division's level is its
last non-zero part; every part after it is zero.  ``NATIONAL`` (all zeros) stands for the
central level (中央), whose jurisdiction covers every code.

Every function accepts the short prefix forms that ``normalize`` accepts and returns full
12-digit codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

__all__ = [
    "CODE_PATTERN",
    "NATIONAL",
    "WEST_PROVINCES",
    "DivisionCode",
    "DivisionError",
    "Level",
    "ancestors",
    "is_west",
    "level",
    "normalize",
    "parent",
    "prefix",
    "within",
]

NATIONAL = "000000000000"

# (level, end offset of its part): province [0:2], city [2:4], county [4:6], township [6:9], village [9:12]
_PART_ENDS = (2, 4, 6, 9, 12)
_SHORT_LENGTHS = frozenset((2, 4, 6, 9, 12))
_DIGITS_RE = re.compile(r"[0-9]+")  # not \d: that would accept full-width digits

CODE_PATTERN = r"^[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{3}(?:[0-9]{3})?)?)?)?$"

# 西部大开发 provinces: 内蒙古 广西 重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆.
WEST_PROVINCES = frozenset({"15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"})


class DivisionError(ValueError):
    """A string that is not a valid statistical division code."""


class Level(StrEnum):
    """Administrative level of a division, from the centre down."""

    CENTRAL = "central"
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    Level.CENTRAL: "中央",
    Level.PROVINCE: "省",
    Level.CITY: "市",
    Level.COUNTY: "县",
    Level.TOWNSHIP: "乡镇",
    Level.VILLAGE: "村",
}
_LEVELS_BY_DEPTH = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
_PREFIX_LENGTHS = {Level.CENTRAL: 0, **dict(zip(_LEVELS_BY_DEPTH, _PART_ENDS))}


def _parts(code: str) -> list[str]:
    starts = (0, *_PART_ENDS[:-1])
    return [code[s:e] for s, e in zip(starts, _PART_ENDS)]


def normalize(code: str) -> str:
    """Return the 12-digit form of ``code``.

    Accepts 12 digits or a prefix of 2/4/6/9 digits padded with zeros (``"652722"`` →
    ``"652722000000"``).  Rejects non-strings, other lengths, non-ASCII-digits, province ``00``
    (except the all-zero national code) and non-zero parts below a zero part.
    """
    if not isinstance(code, str):
        raise DivisionError(
            f"区划代码必须是字符串 (division code must be a string, got {type(code).__name__})"
        )
    return _normalize(code)


# Codes repeat endlessly (every posting names two accounts; the auditor replays millions), so the
# checks are remembered per code; a refused code raises again each time (exceptions are not cached).
@lru_cache(maxsize=1 << 16)
def _normalize(code: str) -> str:
    if len(code) not in _SHORT_LENGTHS or not _DIGITS_RE.fullmatch(code):
        raise DivisionError(
            "区划代码应为12位数字，或2/4/6/9位前缀 "
            "(division code must be 12 digits, or a prefix of 2, 4, 6 or 9 digits)"
        )
    full = code.ljust(12, "0")
    if full == NATIONAL:
        return NATIONAL
    parts = _parts(full)
    if parts[0] == "00":
        raise DivisionError("省级代码不能为00 (province part must not be 00)")
    seen_zero = False
    for part in parts:
        if int(part) == 0:
            seen_zero = True
        elif seen_zero:
            raise DivisionError(
                "区划代码不一致：上级部分为零时下级部分必须为零 "
                "(inconsistent division code: a non-zero part follows a zero part)"
            )
    return full


def level(code: str) -> Level:
    """Level of the division: the depth of its last non-zero part."""
    return _level(normalize(code))


@lru_cache(maxsize=1 << 16)
def _level(full: str) -> Level:
    if full == NATIONAL:
        return Level.CENTRAL
    depth = sum(1 for part in _parts(full) if int(part) != 0)
    return _LEVELS_BY_DEPTH[depth - 1]


def prefix(code: str) -> str:
    """Jurisdiction prefix: the digits every code under this division starts with.

    Province 2 digits, city 4, county 6, township 9, village 12, national ``""``.
    """
    full = normalize(code)
    return full[: _PREFIX_LENGTHS[level(full)]]


def parent(code: str) -> str | None:
    """The division directly above: village → township → … → province → ``NATIONAL`` → None."""
    full = normalize(code)
    lvl = level(full)
    if lvl is Level.CENTRAL:
        return None
    if lvl is Level.PROVINCE:
        return NATIONAL
    above = _LEVELS_BY_DEPTH[_LEVELS_BY_DEPTH.index(lvl) - 1]
    return full[: _PREFIX_LENGTHS[above]].ljust(12, "0")


def within(code: str, jurisdiction_code: str) -> bool:
    """Whether ``code`` lies under the jurisdiction of ``jurisdiction_code``.

    A division is within its own jurisdiction; ``NATIONAL`` covers every code.
    """
    return normalize(code).startswith(prefix(jurisdiction_code))


def ancestors(code: str) -> list[str]:
    """``code`` itself and every division above it up to its province (``NATIONAL`` excluded).

    Ordered from ``code`` upwards; empty for ``NATIONAL``.
    """
    chain: list[str] = []
    current: str | None = normalize(code)
    while current is not None and current != NATIONAL:
        chain.append(current)
        current = parent(current)
    return chain


def name_on(name: str, aliases: Iterable[Mapping[str, Any]] | None, on: date) -> str:
    """The name in force on ``on``: an alias whose bounds (``from``/``to``, ISO dates, inclusive)
    contain the date, else the current ``name``. An alias with neither bound is only another name
    (e.g. a transliteration) and never replaces the current name."""
    for alias in aliases or []:
        start, end = alias.get("from"), alias.get("to")
        if start is None and end is None:
            continue
        if (start is None or _day(start) <= on) and (end is None or on <= _day(end)):
            return alias["name"]
    return name


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def is_west(code: str) -> bool:
    """Whether the division is in a western province (西部地区; the 3% headcount threshold)."""
    return normalize(code)[:2] in WEST_PROVINCES


DivisionCode = Annotated[
    str,
    AfterValidator(normalize),
    WithJsonSchema({"type": "string", "pattern": CODE_PATTERN, "examples": ["652722000000"]}),
]
"""A division code field: accepts the forms ``normalize`` accepts, holds the 12-digit form."""
