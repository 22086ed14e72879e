"""Projects: 百企千村 enterprises, pairings (projects, labourer rosters), project evaluations.

Revision ID: 0004_results
Revises: 0004_witness
"""

from alembic import op

from services.projects.ddl_results import RESULTS_V1

revision = "0004_results"
down_revision = "0004_witness"
branch_labels = None
depends_on = None

_TABLES = ("project_evaluations", "pairing_labourers", "pairing_projects", "pairings", "enterprises")


def upgrade() -> None:
    for statement in RESULTS_V1:
        op.execute(statement)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP TABLE {table}")
