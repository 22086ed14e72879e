"""Alembic environment of the registry service."""

from shared.migrations import run_migrations

run_migrations()
