"""Revision ``*_merkle`` of every service: the Merkle tree over ``events`` and its signed
checkpoints (issue #11).

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the tables is a new revision.
"""

MERKLE_V1 = (
    """
    CREATE TABLE merkle_nodes (
        level SMALLINT NOT NULL,
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx),
        CONSTRAINT merkle_nodes_level CHECK (level BETWEEN 0 AND 62),
        CONSTRAINT merkle_nodes_idx CHECK (idx >= 0),
        CONSTRAINT merkle_nodes_hash CHECK (length(hash) = 32)
    )
    """,
    """
    CREATE TABLE checkpoints (
        size BIGINT NOT NULL,
        origin TEXT NOT NULL,
        root_hash BYTEA NOT NULL,
        note TEXT NOT NULL,
        key_id CHAR(8) NOT NULL,
        signed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (size),
        CONSTRAINT checkpoints_size CHECK (size > 0),
        CONSTRAINT checkpoints_root CHECK (length(root_hash) = 32)
    )
    """,
    """
    CREATE INDEX checkpoints_signed_at_idx ON checkpoints (signed_at)
    """,
    """
    CREATE FUNCTION fupin_merkle_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege'; END $$
    """,
    """
    CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes FOR EACH ROW EXECUTE FUNCTION fupin_merkle_append_only()
    """,
    """
    CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION fupin_merkle_append_only()
    """,
    """
    CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes FOR EACH STATEMENT EXECUTE FUNCTION fupin_merkle_append_only()
    """,
    """
    CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION fupin_merkle_append_only()
    """,
)

MERKLE_TABLES = ("checkpoints", "merkle_nodes")


def drop_merkle(op) -> None:
    for table in MERKLE_TABLES:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION fupin_merkle_append_only()")
