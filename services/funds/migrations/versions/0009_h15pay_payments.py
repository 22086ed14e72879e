"""Funds: money that leaves the system (issue 15) — the registry households read model, bank
accounts with history (payees and the county's 专户), payment files and instructions, imported
bank files, reconciliations.

Revision ID: 0009_h15pay
Revises: 0008_witness
Frozen: this revision's DDL as it shipped; never edit it.
"""

from alembic import op

revision = "0009_h15pay"
down_revision = "0008_witness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE registry_households (
            id UUID PRIMARY KEY, division CHAR(12) NOT NULL, status TEXT NOT NULL)
    """)
    op.execute("""
        CREATE TABLE bank_accounts (
            id UUID PRIMARY KEY, division CHAR(12) NOT NULL, holder TEXT NOT NULL, bank_code TEXT NOT NULL,
            bank_name TEXT NOT NULL, account_no TEXT NOT NULL, account_name TEXT NOT NULL,
            registered_at TIMESTAMP WITH TIME ZONE NOT NULL, superseded_by UUID, event_seq BIGINT NOT NULL)
    """)
    op.execute("CREATE UNIQUE INDEX bank_accounts_current ON bank_accounts (division, holder) "
               "WHERE superseded_by IS NULL")
    op.execute("""
        CREATE TABLE payment_files (
            id UUID PRIMARY KEY, division CHAR(12) NOT NULL, msg_id TEXT NOT NULL UNIQUE, bank_code TEXT NOT NULL,
            execution_date DATE NOT NULL, special_account UUID NOT NULL, count INTEGER NOT NULL,
            total_fen BIGINT NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL)
    """)
    op.execute("""
        CREATE TABLE payment_instructions (
            id UUID PRIMARY KEY, ref TEXT NOT NULL UNIQUE, division CHAR(12) NOT NULL, file_id UUID NOT NULL,
            posting_id UUID NOT NULL UNIQUE, payee TEXT NOT NULL, project_code TEXT NOT NULL, channel TEXT NOT NULL,
            fiscal_year INTEGER NOT NULL, amount_fen BIGINT NOT NULL, account UUID NOT NULL, state TEXT NOT NULL,
            reason_code TEXT, reason TEXT, returned_posting UUID, reissued_posting UUID,
            updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT payment_instructions_state CHECK (state IN ('instructed', 'paid', 'refused', 'reissued')),
            CONSTRAINT payment_instructions_positive CHECK (amount_fen > 0))
    """)
    op.execute("CREATE INDEX ix_payment_instructions_division ON payment_instructions (division)")
    op.execute("CREATE INDEX ix_payment_instructions_file_id ON payment_instructions (file_id)")
    op.execute("""
        CREATE TABLE bank_files (
            digest TEXT PRIMARY KEY, division CHAR(12) NOT NULL, format TEXT NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE NOT NULL, report JSONB NOT NULL)
    """)
    op.execute("""
        CREATE TABLE reconciliations (
            id UUID PRIMARY KEY, division CHAR(12) NOT NULL, special_account UUID NOT NULL, "on" DATE NOT NULL,
            statement_digest TEXT NOT NULL, ledger_debit_fen BIGINT NOT NULL, bank_debit_fen BIGINT NOT NULL,
            differences INTEGER NOT NULL, event_seq BIGINT NOT NULL, recorded_at TIMESTAMP WITH TIME ZONE NOT NULL)
    """)
    op.execute("CREATE INDEX ix_reconciliations_division ON reconciliations (division)")
    op.execute("""
        CREATE TABLE reconciliation_differences (
            reconciliation_id UUID NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT,
            ledger_fen BIGINT NOT NULL, bank_fen BIGINT NOT NULL, reason TEXT NOT NULL,
            PRIMARY KEY (reconciliation_id, position))
    """)


def downgrade() -> None:
    op.execute("DROP TABLE reconciliation_differences, reconciliations, bank_files, payment_instructions, "
               "payment_files, bank_accounts, registry_households")
