"""Money: integer fen (分) inside the system, decimal strings of yuan (元) on the wire.

Floats never touch money.  JSON carries amounts as strings such as ``"1234.56"``; JSON numbers
are refused because a client's float may already have lost precision before we see it.

Two annotated types for pydantic models:

* ``Yuan`` — for API fields.  Accepts *only* a yuan string (in JSON and in Python alike), holds
  int fen, and dumps to JSON as a yuan string (``model_dump()`` in Python mode keeps the int).
  Code that already has fen builds such a model with ``model_construct`` or converts with
  ``format_fen`` first; there is deliberately no "int passes through" back door.
* ``Fen`` — for internal models and events that carry fen directly: a strict non-negative int
  bounded by ``MAX_FEN``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, Strict, WithJsonSchema

__all__ = [
    "MAX_FEN",
    "YUAN_PATTERN",
    "Fen",
    "MoneyError",
    "Yuan",
    "format_fen",
    "parse_yuan",
]

# 10**15 fen = 10 万亿元: far above any budget, still exact in a JSON double (< 2**53) and in BIGINT.
MAX_FEN = 10**15

YUAN_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$"
# fullmatch + explicit [0-9]: "$" alone would accept a trailing "\n", and \d would accept
# full-width and other Unicode digits.
_YUAN_RE = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")


class MoneyError(ValueError):
    """An amount that is not a valid money value."""


def parse_yuan(text: str) -> int:
    """Parse a yuan string such as ``"1234.56"`` into int fen (``123456``).

    Strict on purpose: no whitespace, sign, exponent, thousands separator, leading zero,
    bare or trailing dot, or more than two decimals; the amount must not exceed ``MAX_FEN``.
    """
    if not isinstance(text, str):
        raise MoneyError(
            f"金额必须是以元为单位的字符串，如 \"1234.56\" "
            f"(amount must be a string of yuan such as \"1234.56\", got {type(text).__name__})"
        )
    match = _YUAN_RE.fullmatch(text)
    if match is None:
        raise MoneyError(
            "金额格式无效：应为非负的元金额，最多两位小数，如 \"1234.56\" "
            "(invalid amount: expected a non-negative yuan amount with at most two decimals, "
            "e.g. \"1234.56\")"
        )
    whole, decimals = match.group(1), match.group(2) or ""
    fen = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if fen > MAX_FEN:
        raise MoneyError(
            f"金额超出上限 {format_fen(MAX_FEN)} 元 (amount exceeds the maximum of {format_fen(MAX_FEN)} yuan)"
        )
    return fen


def format_fen(fen: int) -> str:
    """Format int fen as a yuan string with exactly two decimals (``-5`` → ``"-0.05"``).

    Negative values are allowed: balances of external accounts can be overdrawn.
    """
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise MoneyError(
            f"分金额必须是整数 (amount in fen must be an int, got {type(fen).__name__})"
        )
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def _validate_yuan(value: Any) -> int:
    return parse_yuan(value)


Yuan = Annotated[
    int,
    BeforeValidator(_validate_yuan),
    PlainSerializer(format_fen, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": YUAN_PATTERN, "examples": ["1234.56"]}),
]
"""API money field: a yuan string on input and in JSON output, int fen in Python."""

Fen = Annotated[int, Strict(), Field(ge=0, le=MAX_FEN)]
"""Internal money field: a strict int of fen in ``[0, MAX_FEN]`` (no bools, floats or strings)."""
