"""Announcements (公告公示) and objections (异议).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.announcements.ddl_v1 import ANNOUNCEMENTS_V1
from shared.announcements.models import drop_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in ANNOUNCEMENTS_V1:
        op.execute(statement)


def downgrade() -> None:
    drop_tables(op)
