"""Corrections (issue #15): a posting reversed at most once (a unique index on the reversed posting
of ``reverse`` postings), the year-end closes (one per holder and fiscal year), and the exemption a
deadline was recorded under (seed 004 L27 "少量须省级审批的项目").

Revision ID: 0010_h15fix
Revises: 0009_h15pay
"""

from alembic import op

revision = "0010_h15fix"
down_revision = "0009_h15pay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX postings_reversed_once ON postings (reference) WHERE operation = 'reverse'")
    op.execute("""
        CREATE TABLE year_closes (
            division CHAR(12) NOT NULL,
            role TEXT NOT NULL,
            fiscal_year INTEGER NOT NULL,
            event_seq BIGINT NOT NULL,
            document_no TEXT NOT NULL,
            document_date DATE NOT NULL,
            summary JSONB NOT NULL,
            closed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (division, role, fiscal_year)
        )""")
    op.execute("ALTER TABLE deadlines ADD COLUMN exempt TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE deadlines DROP COLUMN exempt")
    op.execute("DROP TABLE year_closes")
    op.execute("DROP INDEX postings_reversed_once")
