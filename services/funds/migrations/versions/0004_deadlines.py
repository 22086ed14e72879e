"""Funds deadlines: set when money is received, marked met or missed on the clock.

Revision ID: 0004
Revises: 0003
Frozen: this revision's DDL as it shipped; never edit it.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE deadlines (
            id UUID NOT NULL,
            receiver CHAR(12) NOT NULL,
            channel TEXT NOT NULL,
            fiscal_year INTEGER NOT NULL,
            kind TEXT NOT NULL,
            due DATE,
            rule_id TEXT NOT NULL,
            citation TEXT NOT NULL,
            title TEXT NOT NULL,
            basis_seq BIGINT NOT NULL,
            basis_on DATE NOT NULL,
            amount_fen BIGINT NOT NULL,
            state TEXT NOT NULL,
            settled_on DATE,
            PRIMARY KEY (id),
            CONSTRAINT deadlines_state CHECK (state IN ('open', 'met', 'missed'))
        )
    """)
    op.execute("CREATE INDEX ix_deadlines_receiver ON deadlines (receiver)")
    op.execute("CREATE INDEX ix_deadlines_state ON deadlines (state)")


def downgrade() -> None:
    op.execute("DROP TABLE deadlines")
