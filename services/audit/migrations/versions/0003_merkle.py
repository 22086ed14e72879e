"""The Merkle tree over the log and its signed checkpoints (verifiable history).

Revision ID: 0003_merkle
Revises: 0002
"""

from alembic import op

from shared.events.ddl_merkle_v1 import MERKLE_V1, drop_merkle

revision = "0003_merkle"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in MERKLE_V1:
        op.execute(statement)


def downgrade() -> None:
    drop_merkle(op)
