"""Registry: grievances, change requests, duplicate candidates, import history (issue 16).

Frozen DDL of this revision: never edit it; a later change is a new revision.

Revision ID: 0004_county
Revises: 0004_witness
"""

from alembic import op

revision = "0004_county"
down_revision = "0004_witness"
branch_labels = None
depends_on = None

COUNTY_V1 = (
    """
    CREATE TABLE grievances (
        id UUID NOT NULL,
        receipt CHAR(10) NOT NULL,
        channel VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        summary VARCHAR NOT NULL,
        complainant JSONB,
        links JSONB DEFAULT '[]'::jsonb NOT NULL,
        category VARCHAR,
        status VARCHAR NOT NULL,
        assigned_to CHAR(12),
        received_on DATE NOT NULL,
        accept_by DATE NOT NULL,
        answer_by DATE NOT NULL,
        rule JSONB DEFAULT '{}'::jsonb NOT NULL,
        outcome VARCHAR,
        answer VARCHAR,
        answered_on DATE,
        closed_on DATE,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (receipt)
)
    """,
    """
    CREATE INDEX ix_grievances_division ON grievances (division)
    """,
    """
    CREATE INDEX ix_grievances_status ON grievances (status)
    """,
    """
    CREATE TABLE change_requests (
        id UUID NOT NULL,
        kind VARCHAR NOT NULL,
        household_id UUID NOT NULL,
        person_id UUID,
        division CHAR(12) NOT NULL,
        changes JSONB NOT NULL,
        reason VARCHAR NOT NULL,
        document VARCHAR,
        level VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        proposed_by JSONB NOT NULL,
        decided_by JSONB,
        decision_reason VARCHAR,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        decided_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id),
        FOREIGN KEY(household_id) REFERENCES households (id),
        FOREIGN KEY(person_id) REFERENCES persons (id)
)
    """,
    """
    CREATE INDEX ix_change_requests_division ON change_requests (division)
    """,
    """
    CREATE INDEX ix_change_requests_household_id ON change_requests (household_id)
    """,
    """
    CREATE INDEX ix_change_requests_status ON change_requests (status)
    """,
    """
    CREATE TABLE duplicate_candidates (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        other_id UUID NOT NULL,
        division CHAR(12) NOT NULL,
        score INTEGER NOT NULL,
        reasons JSONB NOT NULL,
        found_by VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        kept_id UUID,
        decided_by JSONB,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        decided_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id),
        CONSTRAINT duplicate_candidates_pair UNIQUE (person_id, other_id),
        FOREIGN KEY(person_id) REFERENCES persons (id),
        FOREIGN KEY(other_id) REFERENCES persons (id)
)
    """,
    """
    CREATE INDEX ix_duplicate_candidates_division ON duplicate_candidates (division)
    """,
    """
    CREATE INDEX ix_duplicate_candidates_other_id ON duplicate_candidates (other_id)
    """,
    """
    CREATE INDEX ix_duplicate_candidates_person_id ON duplicate_candidates (person_id)
    """,
    """
    CREATE INDEX ix_duplicate_candidates_status ON duplicate_candidates (status)
    """,
    """
    CREATE TABLE imports (
        id UUID NOT NULL,
        kind VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        filename VARCHAR NOT NULL,
        sha256 CHAR(64) NOT NULL,
        encoding VARCHAR,
        status VARCHAR NOT NULL,
        result JSONB NOT NULL,
        actor JSONB NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (id)
)
    """,
    """
    CREATE INDEX imports_content ON imports (kind, division, sha256)
    """,
    """
    CREATE INDEX ix_imports_division ON imports (division)
    """,
    """
    CREATE INDEX persons_birth_date_idx ON persons (birth_date)
    """,
)


def upgrade() -> None:
    for statement in COUNTY_V1:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS persons_birth_date_idx")
    for table in ("imports", "duplicate_candidates", "change_requests", "grievances"):
        op.execute(f"DROP TABLE {table}")
