"""Funds: postings move balances once per statement, summed per account; the same guarantees.

Revision ID: 0006
Revises: 0005
Frozen: this revision's DDL as it shipped; never edit it.

Why. Revision 0003 applied each posting row with two UPDATEs (a per-row trigger) and checked each
row's two accounts with two foreign-key look-ups: a disbursement batch of 2,000 lines paid for
4,000 UPDATEs and 4,000 referential checks, each a query of its own inside PostgreSQL — most of the
cost of writing the batch (bench/RESULTS.md, ledger_post).

Now one ``AFTER INSERT … FOR EACH STATEMENT`` trigger reads the statement's new postings (a
transition table), sums the moves per account, updates each account once, and checks that it
updated every account the postings name. The guarantees are those of revision 0003:

* the sum of all balances stays zero: each posting adds to one account what it takes from another,
  in the statement that records it;
* ``accounts_not_negative`` (CHECK, unchanged) refuses a non-external account below zero, now on
  each account's balance after the whole statement (a statement is all or nothing and nobody sees
  between its rows; the service refuses an overdraft line by line before it writes anything);
* a posting cannot name an account that does not exist: the trigger raises ``foreign_key_violation``
  (SQLSTATE 23503, as the foreign keys did) when fewer accounts were updated than named. The two
  foreign keys of ``postings`` are dropped — they checked the same thing row by row — and what they
  also guaranteed, that a referenced account is never deleted nor renumbered, ``accounts_permanent``
  now guarantees for every account (DELETE, UPDATE of ``id`` and TRUNCATE are refused: an account
  carries a balance the zero sum depends on);
* postings stay append-only (``postings_append_only``, unchanged).

Locking: callers lock the non-external accounts they take from (``SELECT … ORDER BY id FOR
UPDATE``) before inserting, as the service does; the trigger's UPDATE locks the others.

Plan: the function turns hash and merge joins off for itself, so the UPDATE finds each moved
account by its primary key (a nested loop) — otherwise the planner may read every account (a hash
join over a sequential scan) for a batch that moves 2,000 of millions.

``accounts`` gets ``fillfactor = 50``: a batch updates every payee account it pays, and with half of
each page free the new row versions stay on their page (HOT updates: no new index entries). It
applies to pages written from now on.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER postings_apply ON postings")
    op.execute("DROP FUNCTION funds_apply_posting()")
    op.execute("ALTER TABLE postings DROP CONSTRAINT postings_from_account_fkey, "
               "DROP CONSTRAINT postings_to_account_fkey")
    op.execute("""
        CREATE FUNCTION funds_apply_postings() RETURNS trigger LANGUAGE plpgsql
        SET enable_hashjoin = off SET enable_mergejoin = off AS $$
        DECLARE
            named BIGINT;
            updated BIGINT;
        BEGIN
            WITH moved AS (
                SELECT account, CAST(sum(delta) AS BIGINT) AS delta
                FROM (
                    SELECT from_account AS account, -amount_fen AS delta FROM new_postings
                    UNION ALL
                    SELECT to_account, amount_fen FROM new_postings
                ) AS moves
                GROUP BY account
            ), applied AS (
                UPDATE accounts AS a SET balance_fen = a.balance_fen + moved.delta
                FROM moved WHERE a.id = moved.account
                RETURNING a.id
            )
            SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM applied) INTO named, updated;
            IF updated <> named THEN
                RAISE EXCEPTION 'a posting names an account that does not exist (% named, % found)', named, updated
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER postings_apply AFTER INSERT ON postings REFERENCING NEW TABLE AS new_postings "
               "FOR EACH STATEMENT EXECUTE FUNCTION funds_apply_postings()")
    op.execute("""
        CREATE FUNCTION funds_accounts_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'accounts are permanent: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("CREATE TRIGGER accounts_permanent BEFORE DELETE OR UPDATE OF id ON accounts "
               "FOR EACH ROW EXECUTE FUNCTION funds_accounts_permanent()")
    op.execute("CREATE TRIGGER accounts_not_truncated BEFORE TRUNCATE ON accounts "
               "FOR EACH STATEMENT EXECUTE FUNCTION funds_accounts_permanent()")
    op.execute("ALTER TABLE accounts SET (fillfactor = 50)")


def downgrade() -> None:
    op.execute("ALTER TABLE accounts RESET (fillfactor)")
    op.execute("DROP TRIGGER accounts_not_truncated ON accounts")
    op.execute("DROP TRIGGER accounts_permanent ON accounts")
    op.execute("DROP FUNCTION funds_accounts_permanent()")
    op.execute("DROP TRIGGER postings_apply ON postings")
    op.execute("DROP FUNCTION funds_apply_postings()")
    op.execute("ALTER TABLE postings ADD CONSTRAINT postings_from_account_fkey FOREIGN KEY (from_account) "
               "REFERENCES accounts (id), ADD CONSTRAINT postings_to_account_fkey FOREIGN KEY (to_account) "
               "REFERENCES accounts (id)")
    op.execute("CREATE FUNCTION funds_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE accounts "
               "SET balance_fen = balance_fen - NEW.amount_fen WHERE id = NEW.from_account; UPDATE accounts SET "
               "balance_fen = balance_fen + NEW.amount_fen WHERE id = NEW.to_account; RETURN NEW; END $$")
    op.execute("CREATE TRIGGER postings_apply AFTER INSERT ON postings FOR EACH ROW EXECUTE FUNCTION funds_apply_posting()")
