"""Revision ``*_events_append`` of every service: the events table keeps what it guarantees and
costs PostgreSQL half as much per appended row (issue 13, batched appends ≥ 1.2× ``eventsourcing``).

Frozen: these statements are this revision's schema as it shipped. Never edit them; a later
change to the table is a new revision.

Measured by COPY of 30,000 funds events into copies of the table, PostgreSQL backend CPU per row
(bench/RESULTS.md, "events_append — the events table made cheaper for PostgreSQL — 2026-12-04"): 23–30 µs before, 12–14 µs after.

* ``events_hash_hex`` said "64 lowercase hex digits" with a regular expression, which PostgreSQL
  evaluated at ~10 µs a row — about 40% of the row's cost. The same rule as ``decode`` (only hex
  digits, 32 bytes) and ``lower`` (no capitals): ~1 µs. A hash with a non-hex character is now
  refused by ``decode`` itself (SQLSTATE 22023) rather than by the check (23514); either way the
  statement fails and nothing is written.
* ``events_type_idx`` is dropped: no query reads events by type alone (the readers filter by
  subject, then type — ``events_subject_idx``); it was ~10% of every append.
* ``actor`` and ``data`` become ``json``: the log is read back whole and hashed from its text, never
  queried inside by an index, so PostgreSQL's binary ``jsonb`` form was built for nothing
  (~3 µs a row). ``json`` keeps the text as written — from now on the canonical JSON (RFC 8785) that
  was hashed, byte for byte. Rows stored before keep their content; their text is ``jsonb``'s
  rendering (readers parse it; the hash is always recomputed from the parsed value).
"""

EVENTS_APPEND_V2 = (
    "ALTER TABLE events DROP CONSTRAINT events_hash_hex",
    "ALTER TABLE events ADD CONSTRAINT events_hash_hex CHECK (octet_length(decode(hash, 'hex')) = 32 AND hash = lower(hash))",
    "DROP INDEX events_type_idx",
    "ALTER TABLE events ALTER COLUMN actor TYPE JSON USING actor::json, ALTER COLUMN data TYPE JSON USING data::json",
)

EVENTS_APPEND_V2_DOWN = (
    "ALTER TABLE events ALTER COLUMN actor TYPE JSONB USING actor::jsonb, ALTER COLUMN data TYPE JSONB USING data::jsonb",
    "CREATE INDEX events_type_idx ON events (type)",
    "ALTER TABLE events DROP CONSTRAINT events_hash_hex",
    "ALTER TABLE events ADD CONSTRAINT events_hash_hex CHECK (hash ~ '^[0-9a-f]{64}$')",
)


def upgrade(op) -> None:
    for statement in EVENTS_APPEND_V2:
        op.execute(statement)


def downgrade(op) -> None:
    for statement in EVENTS_APPEND_V2_DOWN:
        op.execute(statement)
