"""Projects revision 0004_results: 百企千村 enterprises, pairings with their projects and labourer
rosters, and project performance evaluations.

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

RESULTS_V1 = (
    """
    CREATE TABLE enterprises (
        credit_code CHAR(18) NOT NULL,
        name VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        registered_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (credit_code)
    )
    """,
    "CREATE INDEX ix_enterprises_division ON enterprises (division)",
    """
    CREATE TABLE pairings (
        id UUID NOT NULL,
        credit_code CHAR(18) NOT NULL,
        division CHAR(12) NOT NULL,
        villages JSONB NOT NULL,
        first_year INTEGER NOT NULL,
        last_year INTEGER NOT NULL,
        commitments JSONB NOT NULL,
        agreed_on DATE NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY (credit_code) REFERENCES enterprises (credit_code),
        CHECK (first_year <= last_year)
    )
    """,
    "CREATE INDEX ix_pairings_division ON pairings (division)",
    "CREATE INDEX ix_pairings_credit_code ON pairings (credit_code)",
    """
    CREATE TABLE pairing_projects (
        pairing_id UUID NOT NULL,
        code VARCHAR(40) NOT NULL,
        PRIMARY KEY (pairing_id, code),
        FOREIGN KEY (pairing_id) REFERENCES pairings (id),
        FOREIGN KEY (code) REFERENCES projects (code)
    )
    """,
    """
    CREATE TABLE pairing_labourers (
        pairing_id UUID NOT NULL,
        household_id UUID NOT NULL,
        name VARCHAR NOT NULL,
        hired_on DATE NOT NULL,
        PRIMARY KEY (pairing_id, household_id, name),
        FOREIGN KEY (pairing_id) REFERENCES pairings (id)
    )
    """,
    """
    CREATE TABLE project_evaluations (
        code VARCHAR(40) NOT NULL,
        "on" DATE NOT NULL,
        indicators JSONB NOT NULL,
        score VARCHAR NOT NULL,
        rating VARCHAR NOT NULL,
        rating_label VARCHAR NOT NULL,
        citation VARCHAR NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (code),
        FOREIGN KEY (code) REFERENCES projects (code)
    )
    """,
)
