"""Alembic environment of the funds service."""

from shared.migrations import run_migrations

run_migrations()
