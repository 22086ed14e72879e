"""Registry: one index for ID numbers instead of two (issue 13, import ≥ 20,000 persons/s).

``ix_persons_id_number (id_number)`` and the partial unique ``persons_one_active_household
(id_number) WHERE active`` become one unique index on ``(id_number, NULLIF(active, false))``,
under the old unique index's name: an active person's row carries ``true`` there, so two
active rows of one ID number collide as before; an inactive row carries NULL, and NULLs never
collide, so a person may have left any number of households. Its leading column serves every
look-up by ID number, active or not. A person inserted costs one B-tree insertion less (the bulk
import's COPY of 1M persons: several seconds of PostgreSQL's CPU, bench/RESULTS.md).

Frozen DDL of this revision: never edit it; a later change is a new revision.

Revision ID: 0006_persons_id_index
Revises: 0005_h14board
"""

from alembic import op

revision = "0006_persons_id_index"
down_revision = "0005_h14board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX persons_active_id_number ON persons (id_number, (NULLIF(active, false)))")
    op.execute("DROP INDEX persons_one_active_household")
    op.execute("DROP INDEX ix_persons_id_number")
    op.execute("ALTER INDEX persons_active_id_number RENAME TO persons_one_active_household")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_persons_id_number ON persons (id_number)")
    op.execute("CREATE UNIQUE INDEX persons_active_only ON persons (id_number) WHERE active")
    op.execute("DROP INDEX persons_one_active_household")
    op.execute("ALTER INDEX persons_active_only RENAME TO persons_one_active_household")
