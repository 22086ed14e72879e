"""Funds: the local read model of projects (from the projects service's events).

Revision ID: 0005
Revises: 0004
Frozen: this revision's DDL as it shipped; never edit it.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE projects_view (
            code TEXT NOT NULL,
            division CHAR(12) NOT NULL,
            in_library BOOLEAN DEFAULT false NOT NULL,
            publicity_passed BOOLEAN DEFAULT false NOT NULL,
            cancelled BOOLEAN DEFAULT false NOT NULL,
            last_event TEXT NOT NULL,
            PRIMARY KEY (code)
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE projects_view")
