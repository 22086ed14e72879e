"""Account rows of the ``accounts`` table as domain keys and as the API shows them."""

from __future__ import annotations

from typing import Any, Mapping

from services.funds.domain import AccountKey
from services.funds.domain.code_lists import label
from shared.money import format_fen


def account_key(row: Mapping[str, Any], prefix: str = "") -> AccountKey:
    """The domain key of an account row (columns optionally prefixed, as in a join)."""
    return AccountKey(division=row[f"{prefix}division"], role=row[f"{prefix}role"], channel=row[f"{prefix}channel"],
                      fiscal_year=row[f"{prefix}fiscal_year"], kind=row[f"{prefix}kind"],
                      reference=row[f"{prefix}reference"] or None)


def account_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"account_id": row["id"], "division": row["division"], "role": row["role"],
            "role_label": label("holder_role", row["role"]), "channel": row["channel"],
            "channel_label": label("channel", row["channel"]), "fiscal_year": row["fiscal_year"], "kind": row["kind"],
            "kind_label": label("account_kind", row["kind"]), "reference": row["reference"] or None,
            "balance": format_fen(row["balance_fen"])}
