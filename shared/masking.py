"""Masking personal numbers in free text: the one function every published page, problem body, audit
report and log line passes through (:func:`mask_personal_numbers`).

Guarantees:

1. **Found however written.** The text is read through a normalised copy: NFKC (full-width digits
   and letters become ASCII), every decimal digit as its ASCII value, and separators between digit
   groups dropped — spaces of any width (two or three of them too), dots, hyphens and dashes,
   slashes, middle dots, zero-width and other format characters (at most three in a row). So an ID
   number or a mobile number is found in any grouping: ``6527 2219 8001 0112 34``,
   ``138-1234-5678``, ``1381234.5678``, ``+86 138 1234 5678``, ``0086 13812345678``,
   ``１３８１２３４５６７８``, ``138\\u200b1234\\u200b5678``.
2. **Every 15/18-digit ID, every mainland mobile, every long account number.** Masked: an 18-character
   ID number (17 digits and a digit or ``X``) or a 15-digit old one whose province code and birth
   date are plausible; a mainland mobile ``1[3-9]`` + 9 digits, with or without ``86``/``0086``;
   any unbroken run of 15 or more digits (bank accounts, partial IDs); 16–19 digits written in
   groups of four (bank cards).
3. **Only the span is replaced.** The original characters of a found number — separators included —
   are replaced by its masked form (``652722********1234``, ``138****5678``); everything else in
   the text is returned exactly as it was.
4. **Ordinary numbers stay.** Amounts (``1234.56``: a dot before one or two final digits is a
   decimal point, not a separator), dates (``2017-03-01``), division codes
   (``652722000000``, 12 digits), hotlines (``0909-5322222``, ``12317``) and other numbers that
   are none of the above are left alone.
5. **Identifiers stay.** A UUID (``0190a6a4-1388-7123-8456-789012345678``: 8-4-4-4-12 hex digits) or a
   hex digest (32 or more hex digits) with at least one of the letters a–f is an identifier, not a
   number a person wrote: its digits form no number, alone or joined to digits around it. Pages
   carry announcement ids in links and form actions; about one random UUIDv7 in 400 has digit groups
   that read as a bank card or a mobile number, and masking them broke the link (the board's
   objection form then posted to a page that does not exist).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from shared.idcard import PROVINCE_CODES, mask_phone

MAX_SEPARATOR_RUN = 3
_SEPARATOR_PUNCTUATION = frozenset(".-_/·・‐‑‒–—―﹒．－／")
#: cheap pre-check: fewer than 11 digits close together means nothing to mask
_MAYBE_NUMBER = re.compile(r"\d(?:\D{0,3}\d){10}")
_MOBILE = re.compile(r"(0086|86)?(1[3-9]\d{9})")
_HEX = "0-9a-fA-F"
_IDENTIFIER = re.compile(rf"(?<![0-9A-Za-z])(?:[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
                         rf"|[{_HEX}]{{32,}})(?![0-9A-Za-z])")
_HEX_LETTER = re.compile(r"[a-fA-F]")


def _identifier_ends(text: str) -> dict[int, int]:
    """{start: end} of every UUID or hex digest in the text (guarantee 5)."""
    return {m.start(): m.end() for m in _IDENTIFIER.finditer(text) if _HEX_LETTER.search(m.group())}


@dataclass
class _Group:
    """A run of digits (and an ID's trailing X) in the text: its normalised value and its span."""

    value: str
    start: int
    end: int
    joined: bool  # separated from the group before only by a short run of separators


def _is_separator(char: str) -> bool:
    return char in _SEPARATOR_PUNCTUATION or unicodedata.category(char) in ("Zs", "Cf") or char in " \t"


def _digit(char: str) -> str | None:
    if char.isdecimal():
        return str(unicodedata.decimal(char))
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded in ("X", "x") else None


def _groups(text: str) -> list[_Group]:
    groups: list[_Group] = []
    gaps: list[str] = []
    gap_start, i = 0, 0
    identifiers = _identifier_ends(text)
    while i < len(text):
        if i in identifiers:  # skipped whole; its letters stay in the next gap, so nothing joins across it
            i = identifiers[i]
            continue
        start, value = i, []
        while i < len(text) and text[i].isdecimal():
            value.append(str(unicodedata.decimal(text[i])))
            i += 1
        if _is_check_x(text, i, after_digits=bool(value)):  # an ID's X, also after a separator
            check = _digit(text[i])
            assert check is not None  # _is_check_x saw an X
            value.append(check)
            i += 1
        if not value:
            i += 1
            continue
        gap = text[gap_start:start]
        joined = bool(groups) and len(gap) <= MAX_SEPARATOR_RUN and all(map(_is_separator, gap))
        groups.append(_Group("".join(value), start, i, joined))
        gaps.append(gap)
        gap_start = i
    for k, group in enumerate(groups):  # 1234.56: an amount's decimals end a number, they do not group one
        last = k + 1 == len(groups) or not groups[k + 1].joined
        if group.joined and gaps[k] == "." and len(group.value) <= 2 and last:
            group.joined = False
    return groups


def _is_check_x(text: str, i: int, *, after_digits: bool) -> bool:
    """An X or x (full-width too) standing alone at ``i``: after digits, or after a separator."""
    if i >= len(text) or _digit(text[i]) not in ("X", "x"):
        return False
    if i + 1 < len(text) and text[i + 1].isalnum():
        return False
    return after_digits or (i > 0 and _is_separator(text[i - 1]))


def _plausible_id(digits: str) -> bool:
    """An 18-character (or old 15-digit) ID: province code and birth date that exist."""
    if digits[:2] not in PROVINCE_CODES or not digits[:-1].isdigit():
        return False
    if len(digits) == 18:
        year, month, day = digits[6:10], digits[10:12], digits[12:14]
    elif len(digits) == 15 and digits.isdigit():
        year, month, day = "19" + digits[6:8], digits[8:10], digits[10:12]
    else:
        return False
    try:
        return 1900 <= date(int(year), int(month), int(day)).year <= 2100
    except ValueError:
        return False


def _mask_run(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def _masked(groups: list[_Group]) -> str | None:
    """The masked form of the number these consecutive groups spell, or None if they spell none."""
    digits = "".join(g.value for g in groups)
    if (len(digits) in (15, 18)) and _plausible_id(digits):
        return _mask_run(digits)
    if mobile := _MOBILE.fullmatch(digits):
        return (mobile.group(1) + " " if mobile.group(1) else "") + mask_phone(mobile.group(2))
    if not digits.isdigit():
        return None
    if len(groups) == 1 and len(digits) >= 15:
        return _mask_run(digits)
    if 16 <= len(digits) <= 19 and len(groups) >= 3 and all(len(g.value) == 4 for g in groups[:-1]):
        return _mask_run(digits)
    return None


def _numbers(groups: list[_Group]):
    """(first group, last group, masked form) of each personal number, left to right, longest first."""
    i = 0
    while i < len(groups):
        best = None
        j, length = i, 0
        while j < len(groups) and (j == i or groups[j].joined):
            length += len(groups[j].value)
            if length > 19 and j > i:
                break
            if (masked := _masked(groups[i:j + 1])) is not None:
                best = (j, masked)
            j += 1
        if best is None:
            i += 1
            continue
        yield groups[i], groups[best[0]], best[1]
        i = best[0] + 1


def mask_personal_numbers(text: str) -> str:
    """``text`` with every ID, mobile and account number masked in place (guarantees 1–4)."""
    if not _MAYBE_NUMBER.search(text):
        return text
    out, last = [], 0
    for first, final, masked in _numbers(_groups(text)):
        out += [text[last:first.start], masked]
        last = final.end
    return "".join(out) + text[last:] if out else text


__all__ = ["mask_personal_numbers"]
