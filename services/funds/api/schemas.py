"""The shapes of the funds service's main answers, for the OpenAPI document and generated clients:
balances and deadlines, with their code lists as enums and each code's label beside it.

Documentation of what the routers render (``usecases/accounts.account_view``,
``usecases/deadlines.view``); further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.funds.domain.code_lists import ACCOUNT_KIND, CHANNEL, DEADLINE_KIND, DEADLINE_STATE, HOLDER_ROLE

YUAN = r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$"

Channel = Literal[CHANNEL.codes]  # type: ignore[valid-type]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class BalanceOut(_Open):
    account_id: int
    division: str = Field(description="the holder's division code")
    role: Literal[HOLDER_ROLE.codes]  # type: ignore[valid-type]
    role_label: str
    channel: Channel
    channel_label: str = Field(description="资金渠道 in Chinese (GET /catalogue, list `channel`)")
    fiscal_year: int
    kind: Literal[ACCOUNT_KIND.codes]  # type: ignore[valid-type]
    kind_label: str
    reference: str | None = Field(description="the project, payee or pool the account is for")
    balance: str = Field(pattern=YUAN, description="yuan, two decimals")


class BalancesOut(_Open):
    division: str
    as_of: str | None = Field(None, description="the instant asked for, when `as_of` was given")
    items: list[BalanceOut]


class DeadlineOut(_Open):
    id: str
    receiver: str = Field(description="the division that received the money")
    channel: Channel
    channel_label: str
    fiscal_year: int
    kind: Literal[DEADLINE_KIND.codes]  # type: ignore[valid-type]
    kind_label: str
    due: str | None = Field(description="the last day (ISO date); null: promptly, no fixed day")
    state: Literal[DEADLINE_STATE.codes]  # type: ignore[valid-type]
    state_label: str
    settled_on: str | None
    days_remaining: int | None
    days_overdue: int | None
    amount_fen: int
    rule_id: str = Field(description="the policy rule (GET /catalogue, list `funds_rule`)")
    citation: str | None = Field(description="the document the rule comes from")
    title: str


class DeadlinesOut(_Open):
    division: str
    as_of: str
    items: list[DeadlineOut]
