"""The funds ledger's tables. Invariants are enforced by the database itself, not only by code:

* every posting moves one positive amount from one account to another, and a trigger applies
  it to both balances in the same statement — so the sum of all balances stays zero (since
  revision 0006 once per statement, summed per account; see that migration);
* a CHECK keeps every non-external account (not ``appropriation``, not ``disbursed``) ≥ 0, so an
  over-disbursement fails inside the transaction and nothing is written;
* a posting names existing accounts only: the same trigger refuses one that names an unknown
  account (SQLSTATE 23503), and accounts are permanent (no DELETE, no change of ``id``) — since
  revision 0006 instead of two foreign keys checked row by row;
* postings are append-only (UPDATE and DELETE are rejected), like the event log.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()

EXTERNAL_KINDS = ("appropriation", "disbursed")
KINDS = ("appropriation", "available", "pool", "committed", "disbursed", "stranded", "returned")

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),
    sa.Column("role", sa.Text, nullable=False),  # finance | office
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False, server_default=""),  # project, payee, integration plan
    sa.Column("balance_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("division", "role", "channel", "fiscal_year", "kind", "reference", name="accounts_key"),
    sa.CheckConstraint(f"kind IN {KINDS}", name="accounts_kind"),
    sa.CheckConstraint("role IN ('finance', 'office')", name="accounts_role"),
    sa.CheckConstraint(f"kind IN {EXTERNAL_KINDS} OR balance_fen >= 0", name="accounts_not_negative"),
)
sa.Index("accounts_division_idx", accounts.c.division)

postings = sa.Table(
    "postings", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("event_seq", sa.BigInteger, nullable=False, index=True),  # the event that records it
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("from_account", sa.BigInteger, nullable=False, index=True),  # accounts.id (checked by the trigger)
    sa.Column("to_account", sa.BigInteger, nullable=False, index=True),  # accounts.id (checked by the trigger)
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("document_no", sa.Text),  # 文号
    sa.Column("document_date", sa.Date),
    sa.Column("purpose", sa.Text),
    sa.Column("reference", sa.Text),
    sa.Column("line_ref", sa.Text, unique=True),  # a disbursement line's own idempotency reference
    sa.Column("actor", JSONB, nullable=False),
    sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount_fen > 0", name="postings_positive"),
    sa.CheckConstraint("from_account <> to_account", name="postings_two_accounts"),
)

# a posting is reversed (冲正) at most once: the reversal's reference is the reversed posting's id (since 0010)
sa.Index("postings_reversed_once", postings.c.reference, unique=True, postgresql_where=postings.c.operation == "reverse")

deadlines = sa.Table(
    "deadlines", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("receiver", sa.CHAR(12), nullable=False, index=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # onward_allocation | onto_projects | stranded_return
    sa.Column("due", sa.Date),  # null: "promptly", no fixed day
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("citation", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("basis_seq", sa.BigInteger, nullable=False),  # the receipt's event
    sa.Column("basis_on", sa.Date, nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),  # what was received
    sa.Column("state", sa.Text, nullable=False, index=True),  # open | met | missed | withdrawn (since 0011)
    sa.Column("settled_on", sa.Date),  # when it was met (possibly late)
    sa.Column("exempt", sa.Text),  # the rule's exemption it was recorded under (no due day), since 0010
    sa.CheckConstraint("state IN ('open', 'met', 'missed', 'withdrawn')", name="deadlines_state"),
)

year_closes = sa.Table(  # year-end close and carry-forward (结转结余), one per holder and year, since 0010
    "year_closes", metadata,
    sa.Column("division", sa.CHAR(12), primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("event_seq", sa.BigInteger, nullable=False),  # the funds.year.closed event
    sa.Column("document_no", sa.Text, nullable=False),
    sa.Column("document_date", sa.Date, nullable=False),
    sa.Column("summary", JSONB, nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
)

projects_view = sa.Table(  # local read model of the projects service's events (rule 1)
    "projects_view", metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),
    sa.Column("in_library", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("publicity_passed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_event", sa.Text, nullable=False),
    # version 2 of the library event: what the county's results announcement lists per project
    sa.Column("name", sa.Text),
    sa.Column("type_label", sa.Text),
    sa.Column("content", sa.Text),
    sa.Column("implementing_unit", sa.Text),
)

registry_households = sa.Table(  # local read model of the registry's events (rule 1): who may be paid
    "registry_households", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
)

# -- money that leaves the system (issue 15; services/funds/usecases/payments.py) -----------------

bank_accounts = sa.Table(  # payees' and the county's own 专户 accounts, with history: a new one supersedes
    "bank_accounts", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),  # the county
    sa.Column("holder", sa.Text, nullable=False),  # a payee reference (kind:household_id or kind:name) or "special"
    sa.Column("bank_code", sa.Text, nullable=False),  # CNAPS 行号
    sa.Column("bank_name", sa.Text, nullable=False),
    sa.Column("account_no", sa.Text, nullable=False),  # in full here only (never in an event or a response)
    sa.Column("account_name", sa.Text, nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("superseded_by", UUID(as_uuid=False)),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
)
sa.Index("bank_accounts_current", bank_accounts.c.division, bank_accounts.c.holder, unique=True,
         postgresql_where=bank_accounts.c.superseded_by.is_(None))

payment_files = sa.Table(
    "payment_files", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),
    sa.Column("msg_id", sa.Text, nullable=False, unique=True),
    sa.Column("bank_code", sa.Text, nullable=False),  # the payees' bank
    sa.Column("execution_date", sa.Date, nullable=False),
    sa.Column("special_account", UUID(as_uuid=False), nullable=False),  # bank_accounts.id of the 专户
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

payment_instructions = sa.Table(
    "payment_instructions", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("ref", sa.Text, nullable=False, unique=True),  # EndToEndId
    sa.Column("division", sa.CHAR(12), nullable=False, index=True),
    sa.Column("file_id", UUID(as_uuid=False), nullable=False, index=True),
    sa.Column("posting_id", UUID(as_uuid=False), nullable=False, unique=True),  # the disbursement it pays
    sa.Column("payee", sa.Text, nullable=False),  # the payee reference
    sa.Column("project_code", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("account", UUID(as_uuid=False), nullable=False),  # bank_accounts.id paid to
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason_code", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("returned_posting", UUID(as_uuid=False)),  # the posting that brought refused money back
    sa.Column("reissued_posting", UUID(as_uuid=False)),  # the new disbursement of a re-issue
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('instructed', 'paid', 'refused', 'reissued')", name="payment_instructions_state"),
    sa.CheckConstraint("amount_fen > 0", name="payment_instructions_positive"),
)

bank_files = sa.Table(  # result files and statements imported: idempotent by digest
    "bank_files", metadata,
    sa.Column("digest", sa.Text, primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("report", JSONB, nullable=False),  # what the import answered
)

reconciliations = sa.Table(
    "reconciliations", metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("division", sa.CHAR(12), nullable=False, index=True),
    sa.Column("special_account", UUID(as_uuid=False), nullable=False),
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("statement_digest", sa.Text, nullable=False),
    sa.Column("ledger_debit_fen", sa.BigInteger, nullable=False),
    sa.Column("bank_debit_fen", sa.BigInteger, nullable=False),
    sa.Column("differences", sa.Integer, nullable=False),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

reconciliation_differences = sa.Table(
    "reconciliation_differences", metadata,
    sa.Column("reconciliation_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("ref", sa.Text),
    sa.Column("ledger_fen", sa.BigInteger, nullable=False),
    sa.Column("bank_fen", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)


def drop_ledger(op) -> None:
    op.execute("DROP TABLE IF EXISTS postings, accounts CASCADE")
    op.execute("DROP FUNCTION IF EXISTS funds_apply_posting(), funds_postings_append_only()")
