"""Foundation: events (append-only, hash-chained), inbox, consumer positions, relay watermark,
idempotency keys.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.events.ddl_v1 import FOUNDATION_V1
from shared.events.schema import drop_foundation

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in FOUNDATION_V1:
        op.execute(statement)


def downgrade() -> None:
    drop_foundation(op)
