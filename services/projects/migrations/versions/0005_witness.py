"""Witness: the checkpoints of the other services' logs this service co-signed, and its alarms.

Revision ID: 0004_witness
Revises: 0004_merkle
"""

from alembic import op

from shared.witness.ddl_v1 import WITNESS_V1
from shared.witness.schema import drop_tables

revision = "0004_witness"
down_revision = "0004_merkle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in WITNESS_V1:
        op.execute(statement)


def downgrade() -> None:
    drop_tables(op)
