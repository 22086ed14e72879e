"""Receipt numbers a person can read out on the phone and type back: ten characters of Crockford
base32 (https://www.crockford.com/base32.html) — nine data characters (45 bits) and a check
character, the value of the nine modulo 37 (Crockford's check symbol).

Guarantees:

1. Only values whose check is below 32 are used, so the check is itself a base32 digit (no ``*~$=U``).
2. Any single mistyped character or swap of two neighbours is detected: 37 is prime and divides
   neither 32ᵏ nor 31·32ᵏ.
3. Reading is forgiving: case, hyphens and spaces are ignored, O reads as 0, I and L as 1.
4. :func:`derived` is a pure function of a key (the same record always has the same receipt), so a
   service can give the number at once and a read model fed by its events finds it again.

Used by the registry's grievances (drawn at random) and by every service's objections (derived
from the objection's id).
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_CHARS = 9
LENGTH = DATA_CHARS + 1
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _with_check(value: int) -> str | None:
    check = value % 37
    return _encode(value, DATA_CHARS) + ALPHABET[check] if check < 32 else None


def new() -> str:
    """A fresh random receipt."""
    while (receipt := _with_check(secrets.randbits(5 * DATA_CHARS))) is None:
        pass
    return receipt


def derived(key: str) -> str:
    """The receipt of ``key`` (e.g. an objection's id): the first of SHA-256(key, 0), (key, 1), …
    whose 45 leading bits have a check below 32."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{key}\x1f{counter}".encode()).digest()
        if (receipt := _with_check(int.from_bytes(digest[:8]) >> (64 - 5 * DATA_CHARS))) is not None:
            return receipt
        counter += 1


def normalise(text: str) -> str | None:
    """The receipt as stored, or None when it is not a well-formed receipt (wrong length,
    characters or check)."""
    cleaned = "".join(_READ_AS.get(c, c) for c in text.upper() if c not in "- ")
    if len(cleaned) != LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    value = 0
    for c in cleaned[:-1]:
        value = value * 32 + ALPHABET.index(c)
    return cleaned if _with_check(value) == cleaned else None


def spaced(receipt: str) -> str:
    """``ABCDE-FGHJK``: how a receipt is printed for people."""
    return f"{receipt[:5]}-{receipt[5:]}"
