"""Registry: a household's persons, incomes and status rows are checked once per statement, not row by row.

Frozen DDL of this revision: never edit it; a later change is a new revision.

Why (issue 13, import ≥ 20,000 persons/s). The foreign keys ``persons.household_id``,
``household_incomes.household_id`` and ``household_status_history.household_id`` ran one
referential query per inserted row — an executor started and a household row locked FOR KEY SHARE
each time: about a quarter of PostgreSQL's CPU in the bulk import (perf on the import's backend,
bench/RESULTS.md), whose COPY writes about two million such rows per million persons.

Now one ``AFTER INSERT`` and one ``AFTER UPDATE … FOR EACH STATEMENT`` trigger per table read the
statement's new rows (a transition table) and look each distinct household up by its primary key
once. The guarantees are those of the foreign keys:

* a row cannot name a household that does not exist (or that the writing transaction cannot see):
  the trigger raises ``foreign_key_violation`` (SQLSTATE 23503, as the foreign keys did) naming the
  dropped constraint (``persons_household_id_fkey`` …), at the end of the statement as before;
* what the foreign keys also guaranteed — that a referenced household is never deleted nor given
  another ``id``, also not by a concurrent transaction between the check and the commit (their
  FOR KEY SHARE lock) — ``households_permanent`` now guarantees for every household: DELETE, UPDATE
  of ``id`` and TRUNCATE are refused (the domain never deletes a household: one removed from the
  roll, 清退, keeps its row with ``removed_on``; DOMAIN.md). A household once visible stays, so no
  lock is needed. The same pattern as the funds ledger's accounts (funds revision 0006).

Plan: the function turns hash and merge joins off for itself, so each household is found by its
primary key (a nested loop) — otherwise the planner may read every household (a hash join over a
sequential scan) for a statement that names a few of millions.

Revision ID: 0009_household_refs
Revises: 0006_persons_id_index
"""

from alembic import op

revision = "0009_household_refs"
down_revision = "0006_persons_id_index"
branch_labels = None
depends_on = None

#: The tables whose ``household_id`` the triggers check, and the foreign keys they replace.
REFERRING = ("persons", "household_incomes", "household_status_history")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION registry_households_exist() RETURNS trigger LANGUAGE plpgsql
        SET enable_hashjoin = off SET enable_mergejoin = off AS $$
        DECLARE
            missing UUID;
        BEGIN
            SELECT n.household_id INTO missing
            FROM (SELECT DISTINCT household_id FROM new_rows) AS n
            WHERE NOT EXISTS (SELECT FROM households AS h WHERE h.id = n.household_id)
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                        TG_TABLE_NAME, TG_TABLE_NAME || '_household_id_fkey'
                    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
                          CONSTRAINT = TG_TABLE_NAME || '_household_id_fkey',
                          DETAIL = format('Key (household_id)=(%s) is not present in table "households".', missing);
            END IF;
            RETURN NULL;
        END $$
    """)
    for table in REFERRING:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_household_id_fkey")
        for event in ("INSERT", "UPDATE"):
            op.execute(f"CREATE TRIGGER {table}_household_exists_{event.lower()} AFTER {event} ON {table} "
                       "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
                       "registry_households_exist()")
    op.execute("""
        CREATE FUNCTION registry_households_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'households are permanent: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("CREATE TRIGGER households_permanent BEFORE DELETE OR UPDATE OF id ON households "
               "FOR EACH ROW EXECUTE FUNCTION registry_households_permanent()")
    op.execute("CREATE TRIGGER households_not_truncated BEFORE TRUNCATE ON households "
               "FOR EACH STATEMENT EXECUTE FUNCTION registry_households_permanent()")


def downgrade() -> None:
    op.execute("DROP TRIGGER households_not_truncated ON households")
    op.execute("DROP TRIGGER households_permanent ON households")
    op.execute("DROP FUNCTION registry_households_permanent()")
    for table in REFERRING:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_household_exists_{event} ON {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_household_id_fkey FOREIGN KEY (household_id) "
                   "REFERENCES households (id)")
    op.execute("DROP FUNCTION registry_households_exist()")
