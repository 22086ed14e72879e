"""Funds: the names of divisions for its public pages, a read model of the registry's
``registry.divisions.loaded`` events (``shared.announcements.places``; issue 14).

Frozen DDL of this revision: never edit it; a later change is a new revision.

Revision ID: 0012_division_names
Revises: 0011_h15gaps
"""

from alembic import op

revision = "0012_division_names"
down_revision = "0011_h15gaps"
branch_labels = None
depends_on = None

DIVISION_NAMES_V1 = (
    """
    CREATE TABLE division_names (
        code CHAR(12) NOT NULL,
        name VARCHAR NOT NULL,
        aliases JSONB NOT NULL DEFAULT '[]'::jsonb,
        PRIMARY KEY (code)
    )
    """,
)


def upgrade() -> None:
    for statement in DIVISION_NAMES_V1:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE division_names")
