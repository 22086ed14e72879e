"""Projects: the library, stage history, progress, acceptances, beneficiaries, benefits, assets,
income distributions, library adjustments; read models of registry households and funds postings.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.projects.ddl_v1 import PROJECTS_V1
from services.projects.models import TABLES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in PROJECTS_V1:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
