"""Alembic environment of the projects service."""

from shared.migrations import run_migrations

run_migrations()
