"""Migrated databases match the tables the code queries: the frozen revisions and the models have
not drifted apart (Alembic's own comparison, on a database migrated by the real migrations)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.announcements import places
from shared.announcements.models import TABLES as ANNOUNCEMENT_TABLES
from shared.db import make_engine
from shared.events.schema import metadata as foundation
from shared.events.tree import TABLES as MERKLE_TABLES
from shared.witness.schema import TABLES as WITNESS_TABLES


def expected_metadata(service: str) -> sa.MetaData:
    combined = sa.MetaData()
    tables = [*foundation.sorted_tables, *ANNOUNCEMENT_TABLES, *MERKLE_TABLES, *WITNESS_TABLES]
    if service == "registry":
        from services.registry.models import TABLES
        from services.registry.board_models import TABLES as BOARD_TABLES
        from services.registry.county_models import TABLES as COUNTY_TABLES
        tables += TABLES + COUNTY_TABLES + BOARD_TABLES
    if service in ("funds", "projects"):  # the division names of their public pages
        tables += [places.division_names]
    if service == "funds":
        from services.funds.models import metadata
        tables += metadata.sorted_tables
    if service == "projects":
        from services.projects.models import TABLES
        from services.projects.results_models import TABLES as RESULTS_TABLES
        tables += TABLES + RESULTS_TABLES
    for table in tables:
        table.to_metadata(combined)
    return combined


@pytest.mark.parametrize("service", ["registry", "funds", "projects", "audit"])
async def test_the_migrated_schema_matches_the_models(databases, service):
    settings = await databases.new(service)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), expected_metadata(service)))
    finally:
        await engine.dispose()
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == []
