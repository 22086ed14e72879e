"""Announcements (公告公示) and objections (异议).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.announcements.models import create_tables, drop_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables(op)


def downgrade() -> None:
    drop_tables(op)
