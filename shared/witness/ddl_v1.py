"""The witness revision of every service: co-signed checkpoints and alarms (with their evidence).

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

WITNESS_V1 = (
    """
    CREATE TABLE witness_cosignatures (
        origin TEXT NOT NULL,
        size BIGINT NOT NULL,
        root_hash TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        cosignature TEXT NOT NULL,
        cosigned_at TIMESTAMP WITH TIME ZONE NOT NULL,
        recorded_seq BIGINT,
        PRIMARY KEY (origin, size)
    )
    """,
    """
    CREATE TABLE witness_alarms (
        id BIGSERIAL NOT NULL,
        origin TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        held_size BIGINT NOT NULL,
        held_checkpoint TEXT NOT NULL,
        received_size BIGINT,
        received_checkpoint TEXT,
        raised_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT witness_alarm_kind CHECK (kind IN ('fork', 'inconsistent', 'truncated'))
    )
    """,
    """
    CREATE INDEX witness_alarms_origin_idx ON witness_alarms (origin)
    """,
)
