"""Registry revision 0003: divisions, households, persons, incomes, measures, benefits, status history.

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

REGISTRY_V1 = (
    """
    CREATE TABLE divisions (
        code CHAR(12) NOT NULL,
        name VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        parent CHAR(12),
        valid_from DATE,
        valid_to DATE,
        aliases JSONB DEFAULT '[]'::jsonb NOT NULL,
        flags JSONB DEFAULT '[]'::jsonb NOT NULL,
        rural_population INTEGER,
        population_year INTEGER,
        synthetic BOOLEAN NOT NULL,
        PRIMARY KEY (code)
    )
    """,
    """
    CREATE INDEX ix_divisions_parent ON divisions (parent)
    """,
    """
    CREATE TABLE households (
        id UUID NOT NULL,
        number VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        status VARCHAR NOT NULL,
        poverty_attribute VARCHAR NOT NULL,
        main_cause VARCHAR NOT NULL,
        secondary_cause VARCHAR,
        registered_year INTEGER,
        registered_on DATE,
        exited_on DATE,
        removed_on DATE,
        removal_reason VARCHAR,
        returned_on DATE,
        return_cause VARCHAR,
        helper JSONB,
        checks JSONB DEFAULT '{}'::jsonb NOT NULL,
        housing JSONB DEFAULT '{}'::jsonb NOT NULL,
        relocation_status VARCHAR,
        flags JSONB DEFAULT '[]'::jsonb NOT NULL,
        monitoring JSONB,
        announcements JSONB DEFAULT '{}'::jsonb NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (number)
    )
    """,
    """
    CREATE INDEX ix_households_division ON households (division)
    """,
    """
    CREATE INDEX ix_households_main_cause ON households (main_cause)
    """,
    """
    CREATE INDEX ix_households_registered_year ON households (registered_year)
    """,
    """
    CREATE INDEX ix_households_status ON households (status)
    """,
    """
    CREATE TABLE persons (
        id UUID NOT NULL,
        household_id UUID NOT NULL,
        id_number CHAR(18) NOT NULL,
        name VARCHAR NOT NULL,
        relation VARCHAR NOT NULL,
        sex VARCHAR NOT NULL,
        birth_date DATE NOT NULL,
        ethnicity VARCHAR,
        education VARCHAR,
        school_stage VARCHAR,
        health VARCHAR,
        disability_grade INTEGER,
        labour_capacity VARCHAR NOT NULL,
        labour_skill VARCHAR,
        details JSONB DEFAULT '{}'::jsonb NOT NULL,
        active BOOLEAN NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(household_id) REFERENCES households (id)
    )
    """,
    """
    CREATE INDEX ix_persons_household_id ON persons (household_id)
    """,
    """
    CREATE INDEX ix_persons_id_number ON persons (id_number)
    """,
    """
    CREATE INDEX persons_name_idx ON persons (name)
    """,
    """
    CREATE UNIQUE INDEX persons_one_active_household ON persons (id_number) WHERE active
    """,
    """
    CREATE TABLE household_incomes (
        household_id UUID NOT NULL,
        year INTEGER NOT NULL,
        net_per_capita_fen BIGINT NOT NULL,
        disposable_per_capita_fen BIGINT,
        components JSONB DEFAULT '{}'::jsonb NOT NULL,
        PRIMARY KEY (household_id, year),
        FOREIGN KEY(household_id) REFERENCES households (id)
    )
    """,
    """
    CREATE TABLE measures (
        id UUID NOT NULL,
        household_id UUID NOT NULL,
        pathway VARCHAR NOT NULL,
        description VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        amount_fen BIGINT,
        details JSONB DEFAULT '{}'::jsonb NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(household_id) REFERENCES households (id)
    )
    """,
    """
    CREATE INDEX ix_measures_household_id ON measures (household_id)
    """,
    """
    CREATE TABLE benefits (
        id UUID NOT NULL,
        household_id UUID NOT NULL,
        source_event VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        reference VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        amount_fen BIGINT NOT NULL,
        "on" DATE NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(household_id) REFERENCES households (id),
        UNIQUE (source_event)
    )
    """,
    """
    CREATE INDEX ix_benefits_household_id ON benefits (household_id)
    """,
    """
    CREATE TABLE household_status_history (
        household_id UUID NOT NULL,
        seq BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        effective_on DATE NOT NULL,
        PRIMARY KEY (household_id, seq),
        FOREIGN KEY(household_id) REFERENCES households (id)
    )
    """,
    """
    CREATE INDEX ix_household_status_history_effective_on ON household_status_history (effective_on)
    """,
)
