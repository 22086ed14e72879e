"""A deadline withdrawn when the allocation that set it is reversed (冲正, issue #15): the state
``withdrawn`` joins open | met | missed.

Revision ID: 0011_h15gaps
Revises: 0010_h15fix
"""

from alembic import op

revision = "0011_h15gaps"
down_revision = "0010_h15fix"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE deadlines DROP CONSTRAINT deadlines_state")
    op.execute("ALTER TABLE deadlines ADD CONSTRAINT deadlines_state CHECK (state IN ('open', 'met', 'missed', 'withdrawn'))")


def downgrade() -> None:
    op.execute("UPDATE deadlines SET state = 'open' WHERE state = 'withdrawn'")
    op.execute("ALTER TABLE deadlines DROP CONSTRAINT deadlines_state")
    op.execute("ALTER TABLE deadlines ADD CONSTRAINT deadlines_state CHECK (state IN ('open', 'met', 'missed'))")
