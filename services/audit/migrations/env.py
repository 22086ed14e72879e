"""Alembic environment of the audit service."""

from shared.migrations import run_migrations

run_migrations()
