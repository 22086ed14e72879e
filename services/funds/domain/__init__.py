"""The funds service's pure domain (ARCHITECTURE.md rule 6, "The funds ledger"; DOMAIN.md §4).

* :mod:`.channels` - fund channels (资金来源) with their Chinese labels.
* :mod:`.ledger` - the double-entry ledger as an immutable value: accounts, postings with the
  rules of each operation, balances, invariants and the backwards trace (资金流向全程追溯).
* :mod:`.deadlines` - deadlines set by a receipt of funds, from the policy table, and their state.
* :mod:`.purposes` - the closed list of purpose codes (资金用途) with their Chinese labels.
* :mod:`.rules` - use rules: the negative list of 财农〔2017〕8号 and the 1% management-fee cap.
* :mod:`.factors` - allocation by factors with exact fractions and largest-remainder rounding.
* :mod:`.gate` - the projects gate: when money may go to a project, as a table of refusals.

Plain functions and dataclasses, no database, HTTP or Kafka; every figure comes from the policy
table (rule 7); money is int fen (rule 8). The API and handlers load state and call these; the
auditor calls the same functions on state rebuilt from events.
"""

from .channels import CHANNEL_LABELS, CHANNELS, ORIGINS, Channel, channel, is_channel
from .deadlines import (
    DEADLINE_KINDS,
    DEADLINE_STATES,
    Deadline,
    DeadlineStatus,
    budget_year_of,
    deadlines_for_receipt,
    evaluate,
)
from .errors import (
    DeadlineError,
    DuplicatePosting,
    FactorError,
    FundsError,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    InvalidPosting,
    LedgerError,
    NegativeListPurpose,
)
from .factors import allocate_by_factors, allocation_shares, check_allocation_by_factors
from .ledger import (
    DOCUMENTED_OPERATIONS,
    EXTERNAL_KINDS,
    KINDS,
    OPERATION_KINDS,
    OPERATIONS,
    REFERENCED_KINDS,
    ROLES,
    AccountKey,
    Ledger,
    Posting,
    PostingReader,
    check_posting,
    check_sufficient,
    finance_account,
    province_of,
)
from .purposes import PURPOSE_CODES, PURPOSES, UnknownPurpose, known_purpose, purpose_schema
from .rules import (
    FEE_CAP_RULE,
    NEGATIVE_LIST_RULE,
    NOT_REACHING_RULE,
    STRANDED_RETURN_RULE,
    check_full_return,
    check_purpose,
    management_fee_cap_fen,
    management_fee_ok,
    negative_list,
    not_reaching_households,
)

__all__ = [
    "NOT_REACHING_RULE",
    "STRANDED_RETURN_RULE",
    "check_full_return",
    "not_reaching_households",
    "finance_account",
    "PostingReader",
    "CHANNELS",
    "CHANNEL_LABELS",
    "DEADLINE_KINDS",
    "DEADLINE_STATES",
    "DOCUMENTED_OPERATIONS",
    "EXTERNAL_KINDS",
    "FEE_CAP_RULE",
    "KINDS",
    "NEGATIVE_LIST_RULE",
    "OPERATIONS",
    "OPERATION_KINDS",
    "ORIGINS",
    "REFERENCED_KINDS",
    "ROLES",
    "AccountKey",
    "Channel",
    "Deadline",
    "DeadlineError",
    "DeadlineStatus",
    "DuplicatePosting",
    "FactorError",
    "FundsError",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidAmount",
    "InvalidPosting",
    "Ledger",
    "LedgerError",
    "NegativeListPurpose",
    "Posting",
    "allocate_by_factors",
    "check_allocation_by_factors",
    "allocation_shares",
    "budget_year_of",
    "channel",
    "check_posting",
    "check_purpose",
    "known_purpose",
    "purpose_schema",
    "PURPOSES",
    "PURPOSE_CODES",
    "UnknownPurpose",
    "check_sufficient",
    "deadlines_for_receipt",
    "evaluate",
    "is_channel",
    "management_fee_cap_fen",
    "management_fee_ok",
    "negative_list",
    "province_of",
]
