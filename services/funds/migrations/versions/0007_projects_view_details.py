"""Funds: what a county's results announcement lists per project (version 2 of
``projects.project.entered_library``): name, type, content, implementing unit.

Revision ID: 0007
Revises: 0006
Frozen: this revision's DDL as it shipped; never edit it.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("name", "type_label", "content", "implementing_unit")


def upgrade() -> None:
    op.execute("ALTER TABLE projects_view " + ", ".join(f"ADD COLUMN {c} TEXT" for c in COLUMNS))


def downgrade() -> None:
    op.execute("ALTER TABLE projects_view " + ", ".join(f"DROP COLUMN {c}" for c in COLUMNS))
