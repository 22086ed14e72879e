"""The witness tables every service has (each in its own database): the checkpoints it co-signed
and the alarms it raised, each alarm with both signed checkpoints kept as evidence.

Each service's witness migration runs the frozen DDL of :mod:`shared.witness.ddl_v1`; a test
checks that migrated databases still match the tables here.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

cosignatures = sa.Table(
    "witness_cosignatures",
    metadata,
    sa.Column("origin", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root_hash", sa.Text, nullable=False),  # base64, as in the checkpoint
    sa.Column("checkpoint", sa.Text, nullable=False),  # the origin's signed note, as received
    sa.Column("cosignature", sa.Text, nullable=False),  # our signature line (tlog-cosignature/v1)
    sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_seq", sa.BigInteger, nullable=True),  # the own event that records it; null: pending
)

alarms = sa.Table(
    "witness_alarms",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("held_size", sa.BigInteger, nullable=False),
    sa.Column("held_checkpoint", sa.Text, nullable=False),  # evidence: the signed checkpoint we hold
    sa.Column("received_size", sa.BigInteger, nullable=True),
    sa.Column("received_checkpoint", sa.Text, nullable=True),  # evidence: the one that contradicts it
    sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('fork', 'inconsistent', 'truncated')", name="witness_alarm_kind"),
)
sa.Index("witness_alarms_origin_idx", alarms.c.origin)

TABLES = (cosignatures, alarms)


def drop_tables(op) -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
