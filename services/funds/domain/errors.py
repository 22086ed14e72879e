"""Errors of the funds domain.

All are :class:`shared.errors.Problem` subclasses (so the web layer renders them as
problem+json with the extension members shown below) and also ``ValueError``. Every one carries a
machine-readable ``code`` (also in the problem body) and a bilingual ``detail`` ("中文 (English)").
"""

from __future__ import annotations

from typing import Any

from shared.errors import Unprocessable

__all__ = [
    "DeadlineError",
    "DuplicatePosting",
    "FactorError",
    "FundsError",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidAmount",
    "InvalidPosting",
    "LedgerError",
    "NegativeListPurpose",
    "YearClosed",
]


class FundsError(Unprocessable, ValueError):
    """Base of the funds domain errors: ``code`` plus a bilingual ``detail``."""

    code: str = "funds_error"
    slug = "funds"

    def __init__(self, detail: str, *, code: str | None = None, **extensions: Any) -> None:
        if code is not None:
            self.code = code
        super().__init__(detail, code=self.code, **extensions)


class LedgerError(FundsError):
    """A posting the ledger refuses. The ledger it was applied to is unchanged."""

    code = "ledger_error"
    slug = "ledger"


class InvalidAmount(LedgerError):
    """The amount is not a positive int of fen (or exceeds ``MAX_FEN``)."""

    code = "invalid_amount"


class InvalidAccount(LedgerError):
    """An account key that is not well formed (division, role, channel, year, kind, reference)."""

    code = "invalid_account"


class InvalidPosting(LedgerError):
    """A posting that breaks a rule of its operation; ``code`` names the rule
    (``allocate_not_lower``, ``channel_changed``, …)."""

    code = "invalid_posting"


class InsufficientFunds(LedgerError):
    """The posting would take a non-external account below zero (e.g. over-disbursement)."""

    code = "insufficient_funds"


class DuplicatePosting(LedgerError):
    """A posting id that the ledger already holds."""

    status = 409
    title = "Conflict"
    code = "duplicate_posting"


class NegativeListPurpose(FundsError):
    """A purpose on the negative list of 财农〔2017〕8号. Extensions: ``purpose``, ``label``,
    ``citation``, ``rule``."""

    code = "negative_list_purpose"
    slug = "funds-use"


class FactorError(FundsError):
    """Inputs of a factor allocation that cannot be allocated."""

    code = "invalid_factor_sheet"
    slug = "factor-allocation"


class DeadlineError(FundsError):
    """A deadline that cannot be computed (a missing basis date, an unknown rule shape)."""

    code = "deadline_error"
    slug = "deadline"


class YearClosed(LedgerError):
    """A posting into the books of a fiscal year its holder has closed (结转结余): after the close
    the year's balances live in the next year. Extensions: ``division``, ``fiscal_year``,
    ``close`` (the close's document and event), ``rule``, ``citation``."""

    status = 409
    title = "Conflict"
    code = "year_closed"
    slug = "year-closed"
