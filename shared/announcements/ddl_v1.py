"""Revision 0002 of every service: announcements and objections.

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

ANNOUNCEMENTS_V1 = (
    """
    CREATE TABLE announcements (
        id UUID NOT NULL,
        service VARCHAR NOT NULL,
        subject_type VARCHAR NOT NULL,
        subject_id VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        division CHAR(12) NOT NULL,
        title VARCHAR NOT NULL,
        content JSONB NOT NULL,
        people JSONB NOT NULL,
        hotline_local VARCHAR NOT NULL,
        rendered_text VARCHAR,
        period_start DATE,
        period_end DATE,
        period JSONB,
        status VARCHAR NOT NULL,
        outcome VARCHAR,
        withdrawn_reason VARCHAR,
        created_by JSONB NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        published_at TIMESTAMP WITH TIME ZONE,
        closed_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id)
    )
    """,
    """
    CREATE INDEX ix_announcements_division ON announcements (division)
    """,
    """
    CREATE INDEX ix_announcements_status ON announcements (status)
    """,
    """
    CREATE INDEX ix_announcements_subject_id ON announcements (subject_id)
    """,
    """
    CREATE INDEX ix_announcements_subject_type ON announcements (subject_type)
    """,
    """
    CREATE TABLE objections (
        id UUID NOT NULL,
        announcement_id UUID NOT NULL,
        text VARCHAR NOT NULL,
        contact_name VARCHAR,
        contact_phone VARCHAR,
        client_digest CHAR(64) NOT NULL,
        filed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        status VARCHAR NOT NULL,
        resolution_reason VARCHAR,
        resolved_by JSONB,
        resolved_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id),
        FOREIGN KEY(announcement_id) REFERENCES announcements (id)
    )
    """,
    """
    CREATE INDEX ix_objections_announcement_id ON objections (announcement_id)
    """,
    """
    CREATE INDEX objections_client_time_idx ON objections (client_digest, filed_at)
    """,
)
