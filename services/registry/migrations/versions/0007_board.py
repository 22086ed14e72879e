"""Registry: the public board's read model of every service's announcements and objections (issue 14).

Frozen DDL of this revision: never edit it; a later change is a new revision.

Revision ID: 0005_h14board
Revises: 0004_county
"""

from alembic import op

revision = "0005_h14board"
down_revision = "0004_county"
branch_labels = None
depends_on = None

BOARD_V1 = (
    """
    CREATE TABLE board_notices (
        id UUID NOT NULL,
        service VARCHAR NOT NULL,
        subject_type VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        title VARCHAR NOT NULL,
        content JSONB NOT NULL,
        people JSONB NOT NULL,
        hotline_local VARCHAR NOT NULL,
        rendered_text VARCHAR,
        period JSONB,
        period_end DATE,
        status VARCHAR NOT NULL,
        outcome VARCHAR,
        withdrawn_reason VARCHAR,
        published_at TIMESTAMP WITH TIME ZONE,
        closed_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id)
    )
    """,
    """
    CREATE INDEX board_notices_division_published_idx ON board_notices (division, published_at)
    """,
    """
    CREATE TABLE board_objections (
        receipt CHAR(10) NOT NULL,
        objection_id UUID NOT NULL,
        service VARCHAR NOT NULL,
        announcement_id UUID NOT NULL,
        status VARCHAR NOT NULL,
        filed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        resolved_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (receipt),
        UNIQUE (objection_id)
    )
    """,
    """
    CREATE INDEX ix_board_objections_announcement_id ON board_objections (announcement_id)
    """,
)


def upgrade() -> None:
    for statement in BOARD_V1:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE board_objections")
    op.execute("DROP TABLE board_notices")
