"""Projects revision 0003: the project library, its history, progress, acceptances, beneficiaries,
benefits, assets and their income distributions, the library adjustments, and the read models of the
registry's households and the funds service's postings.

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

PROJECTS_V1 = (
    """
    CREATE TABLE projects (
        code VARCHAR(40) NOT NULL,
        name VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        year INTEGER NOT NULL,
        stage VARCHAR NOT NULL,
        implementing_unit VARCHAR NOT NULL,
        schedule JSONB NOT NULL,
        tasks JSONB NOT NULL,
        budget_fen BIGINT NOT NULL,
        sources JSONB NOT NULL,
        mechanisms JSONB NOT NULL,
        mechanism_note VARCHAR NOT NULL,
        participation JSONB NOT NULL,
        targets JSONB NOT NULL,
        planned_households INTEGER NOT NULL,
        planned_persons INTEGER NOT NULL,
        announcements JSONB DEFAULT '{}'::jsonb NOT NULL,
        progress_percent INTEGER NOT NULL,
        completed_on DATE,
        cancel_reason VARCHAR,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (code)
    )
    """,
    """
    CREATE INDEX ix_projects_division ON projects (division)
    """,
    """
    CREATE INDEX ix_projects_stage ON projects (stage)
    """,
    """
    CREATE INDEX ix_projects_type ON projects (type)
    """,
    """
    CREATE INDEX ix_projects_year ON projects (year)
    """,
    """
    CREATE TABLE project_stage_history (
        code VARCHAR(40) NOT NULL,
        seq BIGINT NOT NULL,
        stage VARCHAR NOT NULL,
        effective_on DATE NOT NULL,
        PRIMARY KEY (code, seq),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE TABLE project_progress (
        id UUID NOT NULL,
        code VARCHAR(40) NOT NULL,
        "on" DATE NOT NULL,
        percent INTEGER NOT NULL,
        photos JSONB NOT NULL,
        note VARCHAR NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_project_progress_code ON project_progress (code)
    """,
    """
    CREATE TABLE project_acceptances (
        id UUID NOT NULL,
        code VARCHAR(40) NOT NULL,
        "on" DATE NOT NULL,
        team JSONB NOT NULL,
        result VARCHAR NOT NULL,
        issues JSONB NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_project_acceptances_code ON project_acceptances (code)
    """,
    """
    CREATE TABLE project_beneficiaries (
        code VARCHAR(40) NOT NULL,
        household_id UUID NOT NULL,
        mechanism VARCHAR NOT NULL,
        persons INTEGER NOT NULL,
        added_on DATE NOT NULL,
        PRIMARY KEY (code, household_id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_project_beneficiaries_household_id ON project_beneficiaries (household_id)
    """,
    """
    CREATE TABLE project_benefits (
        id UUID NOT NULL,
        code VARCHAR(40) NOT NULL,
        household_id UUID NOT NULL,
        kind VARCHAR NOT NULL,
        amount_fen BIGINT NOT NULL,
        "on" DATE NOT NULL,
        distribution_id UUID,
        PRIMARY KEY (id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_project_benefits_code ON project_benefits (code)
    """,
    """
    CREATE INDEX ix_project_benefits_household_id ON project_benefits (household_id)
    """,
    """
    CREATE TABLE project_postings (
        posting_id VARCHAR NOT NULL,
        code VARCHAR(40) NOT NULL,
        operation VARCHAR NOT NULL,
        channel VARCHAR NOT NULL,
        fiscal_year INTEGER NOT NULL,
        amount_fen BIGINT NOT NULL,
        "on" DATE NOT NULL,
        payee JSONB,
        source_event VARCHAR NOT NULL,
        PRIMARY KEY (posting_id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_project_postings_code ON project_postings (code)
    """,
    """
    CREATE TABLE registry_households (
        id UUID NOT NULL,
        number VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        status VARCHAR NOT NULL,
        head_name VARCHAR,
        persons INTEGER NOT NULL,
        PRIMARY KEY (id)
    )
    """,
    """
    CREATE INDEX ix_registry_households_division ON registry_households (division)
    """,
    """
    CREATE TABLE assets (
        id VARCHAR NOT NULL,
        code VARCHAR(40) NOT NULL,
        division CHAR(12) NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        owner VARCHAR NOT NULL,
        operator JSONB NOT NULL,
        book_value_fen BIGINT NOT NULL,
        handed_over_on DATE NOT NULL,
        shares JSONB NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(code) REFERENCES projects (code)
    )
    """,
    """
    CREATE INDEX ix_assets_code ON assets (code)
    """,
    """
    CREATE INDEX ix_assets_division ON assets (division)
    """,
    """
    CREATE TABLE asset_distributions (
        id UUID NOT NULL,
        asset_id VARCHAR NOT NULL,
        period VARCHAR NOT NULL,
        "on" DATE NOT NULL,
        amount_fen BIGINT NOT NULL,
        lines JSONB NOT NULL,
        announcement_id VARCHAR NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT asset_distributions_once_per_period UNIQUE (asset_id, period),
        FOREIGN KEY(asset_id) REFERENCES assets (id)
    )
    """,
    """
    CREATE INDEX ix_asset_distributions_asset_id ON asset_distributions (asset_id)
    """,
    """
    CREATE TABLE library_adjustments (
        announcement_id UUID NOT NULL,
        county CHAR(12) NOT NULL,
        year INTEGER NOT NULL,
        items JSONB NOT NULL,
        applied_on DATE,
        PRIMARY KEY (announcement_id)
    )
    """,
)
