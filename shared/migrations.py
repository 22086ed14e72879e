"""What every service's Alembic ``env.py`` runs.

Migrations run on a connection handed over by :func:`shared.db.migrate` (the runner, the
services with FUPIN_MIGRATE_ON_START, the CLI ``fupin db migrate`` and the test fixtures).
"""

from alembic import context


def run_migrations(target_metadata=None) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise SystemExit("run migrations with `fupin db migrate` (it connects with the FUPIN_ settings)")
    context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
