"""Registry: divisions, households, persons, incomes, measures, benefits, status history.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.registry.ddl_v1 import REGISTRY_V1
from services.registry.models import TABLES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in REGISTRY_V1:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
