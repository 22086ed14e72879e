"""Fixtures of the service tests."""

from datetime import datetime, timezone

import asyncpg
import pytest

from services.registry.app import create_app
from shared.clock import SettableClock
from shared.config import libpq_url
from tests.conftest import serving
from services.funds.app import create_app as funds_app
from tests.service.funds_support import Funds
from tests.service.registry_support import Registry


@pytest.fixture
async def registry(databases):
    """The registry service on a fresh database, its clock at 1 March 2016."""
    settings = await databases.new("registry")
    clock = SettableClock(datetime(2016, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        yield Registry(settings, client, clock)


@pytest.fixture
async def funds(databases):
    settings = await databases.new("funds")
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(funds_app(settings, clock=clock, run_background=False)) as client:
        yield Funds(settings, client, databases, clock)


@pytest.fixture
async def funds_conn(databases):
    """A raw connection to a fresh funds database (schema tests go behind the service)."""
    settings = await databases.new("funds")
    connection = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    yield connection
    await connection.close()
