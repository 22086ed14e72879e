"""Foundation: events (append-only, hash-chained), inbox, consumer positions, relay watermark,
idempotency keys.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.events.schema import create_foundation, drop_foundation

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_foundation(op)


def downgrade() -> None:
    drop_foundation(op)
