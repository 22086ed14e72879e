"""Registry: divisions, households, persons, incomes, measures, benefits, status history.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.registry.models import TABLES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
