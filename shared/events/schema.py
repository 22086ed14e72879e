"""The foundation tables every service has: its event log, inbox, consumer positions, relay
watermark and idempotency keys.

Each service's first migration runs the frozen DDL of :mod:`shared.events.ddl_v1`, generated
from these tables when revision 0001 shipped; a test checks that migrated databases still match
the tables here. Later changes go into new revisions (the events table: :mod:`shared.events.ddl_events_v2`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", UUID(as_uuid=False), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", JSON, nullable=False),  # json: the text as hashed (ddl_events_v2)
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("causation_id", sa.Text, nullable=True),
    sa.Column("data", JSON, nullable=False),
    sa.Column("prev_hash", sa.CHAR(64), nullable=False),
    sa.Column("hash", sa.CHAR(64), nullable=False),
    sa.CheckConstraint("seq > 0", name="events_seq_positive"),
    sa.CheckConstraint("octet_length(decode(hash, 'hex')) = 32 AND hash = lower(hash)", name="events_hash_hex"),
)
sa.Index("events_subject_idx", events.c.subject)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

consumer_positions = sa.Table(
    "consumer_positions",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.CHAR(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

relay_watermark = sa.Table(
    "relay_watermark",
    metadata,
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),  # the caller's subject ("public" for anonymous)
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("request_hash", sa.CHAR(64), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("owner", UUID(as_uuid=False), nullable=False),  # the attempt holding the claim
    sa.Column("status_code", sa.Integer),
    sa.Column("response_headers", JSONB),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("state IN ('in_flight', 'completed')", name="idempotency_state"),
)

APPEND_ONLY_DDL = (
    """
    CREATE FUNCTION fupin_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events is append-only: % rejected', TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'correct a mistake with a new, compensating event';
    END $$
    """,
    """
    CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION fupin_events_append_only()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION fupin_events_append_only()
    """,
)


def drop_foundation(op) -> None:
    bind = op.get_bind()
    op.execute("DROP TABLE IF EXISTS events CASCADE")
    op.execute("DROP FUNCTION IF EXISTS fupin_events_append_only()")
    for table in reversed(metadata.sorted_tables):
        table.drop(bind, checkfirst=True)
