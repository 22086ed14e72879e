"""Revision 0001 of every service: events, inbox, consumer positions, relay watermark, idempotency keys, and the append-only trigger.

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

FOUNDATION_V1 = (
    """
    CREATE TABLE consumer_positions (
        source TEXT NOT NULL,
        last_seq BIGINT NOT NULL,
        last_hash CHAR(64) NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (source)
    )
    """,
    """
    CREATE TABLE events (
        seq BIGINT NOT NULL,
        id UUID NOT NULL,
        source TEXT NOT NULL,
        type TEXT NOT NULL,
        subject TEXT NOT NULL,
        time TIMESTAMP WITH TIME ZONE NOT NULL,
        actor JSONB NOT NULL,
        correlation_id TEXT NOT NULL,
        causation_id TEXT,
        data JSONB NOT NULL,
        prev_hash CHAR(64) NOT NULL,
        hash CHAR(64) NOT NULL,
        PRIMARY KEY (seq),
        CONSTRAINT events_seq_positive CHECK (seq > 0),
        CONSTRAINT events_hash_hex CHECK (hash ~ '^[0-9a-f]{64}$'),
        UNIQUE (id)
    )
    """,
    """
    CREATE INDEX events_subject_idx ON events (subject)
    """,
    """
    CREATE INDEX events_type_idx ON events (type)
    """,
    """
    CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        request_hash CHAR(64) NOT NULL,
        state TEXT NOT NULL,
        owner UUID NOT NULL,
        status_code INTEGER,
        response_headers JSONB,
        response_body BYTEA,
        locked_until TIMESTAMP WITH TIME ZONE NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        completed_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (scope, key),
        CONSTRAINT idempotency_state CHECK (state IN ('in_flight', 'completed'))
    )
    """,
    """
    CREATE TABLE inbox (
        source TEXT NOT NULL,
        event_id UUID NOT NULL,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (source, event_id)
    )
    """,
    """
    CREATE TABLE relay_watermark (
        topic TEXT NOT NULL,
        last_seq BIGINT NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (topic)
    )
    """,
    """
    CREATE FUNCTION fupin_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events is append-only: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege', HINT = 'correct a mistake with a new, compensating event'; END $$
    """,
    """
    CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION fupin_events_append_only()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION fupin_events_append_only()
    """,
)
