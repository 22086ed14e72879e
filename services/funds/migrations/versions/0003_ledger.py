"""Funds ledger: accounts with balances, append-only postings applied by a trigger.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.funds.models import create_ledger, drop_ledger

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_ledger(op)


def downgrade() -> None:
    drop_ledger(op)
