"""Funds ledger: accounts with balances, append-only postings applied by a trigger.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.funds.ddl_v1 import LEDGER_V1
from services.funds.models import drop_ledger

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in LEDGER_V1:
        op.execute(statement)


def downgrade() -> None:
    drop_ledger(op)
