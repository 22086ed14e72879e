"""A project's funding as the funds service's postings show it: committed, paid (disbursed),
stranded, remaining = committed − paid − stranded. Postings are read through
``services.funds.contract.postings_of`` by the caller; this module only knows which posting
belongs to which project (the contract's rules) and adds them up in int fen. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from shared.money import format_fen

OPERATIONS = ("commit", "disburse", "strand", "payment_return")


def project_of(posting: Mapping[str, Any]) -> str | None:
    """The project a posting is for, or None (funds contract, version 1): a commitment's
    ``reference`` (its ``to`` is the project's committed account); a disbursement's or a
    stranding's ``project_code``."""
    operation = posting.get("operation")
    if operation == "commit" and (posting.get("to") or {}).get("kind") == "committed":
        return posting.get("reference")
    if operation in ("disburse", "strand", "payment_return"):  # payment_return: money the bank refused, back
        return posting.get("project_code")
    return None


@dataclass(frozen=True)
class Funding:
    committed_fen: int = 0
    paid_fen: int = 0
    stranded_fen: int = 0

    @property
    def remaining_fen(self) -> int:
        return self.committed_fen - self.paid_fen - self.stranded_fen

    @property
    def active_fen(self) -> int:
        """Committed and not stranded: what the project can still count on or has spent."""
        return self.committed_fen - self.stranded_fen

    def as_dict(self) -> dict[str, str]:
        return {"committed": format_fen(self.committed_fen), "paid": format_fen(self.paid_fen),
                "stranded": format_fen(self.stranded_fen), "remaining": format_fen(self.remaining_fen)}


def funding_of(postings: Iterable[Mapping[str, Any]]) -> Funding:
    """Add up a project's postings ({operation, amount_fen})."""
    totals = dict.fromkeys(OPERATIONS, 0)
    for posting in postings:
        if posting["operation"] in totals:
            totals[posting["operation"]] += posting["amount_fen"]
    return Funding(totals["commit"], totals["disburse"] - totals["payment_return"], totals["strand"])
