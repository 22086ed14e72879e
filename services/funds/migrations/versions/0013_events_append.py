"""The events table: a cheaper hash check, no index by type alone, actor and data as json
(``shared.events.ddl_events_v2``, where the reasons and measurements are; issue 13).

Revision ID: 0013_events_append
Revises: 0012_division_names
"""

from alembic import op

from shared.events import ddl_events_v2

revision = "0013_events_append"
down_revision = "0012_division_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl_events_v2.upgrade(op)


def downgrade() -> None:
    ddl_events_v2.downgrade(op)
