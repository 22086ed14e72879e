"""A transaction PostgreSQL aborts in a deadlock or serialization failure with another writer
(SQLSTATE 40P01, 40001) is never a 500, on any route, grouped or not: rolled back, nothing of it was
written, so the answer is a 503 problem with ``Retry-After`` and the retry (same Idempotency-Key)
runs (``shared.db.is_contention``; the group commit first judges its members again)."""

from __future__ import annotations

import asyncpg.exceptions
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from shared.db import is_contention
from shared.web import problems


def _wrapped(error: Exception) -> DBAPIError:
    """As SQLAlchemy's asyncpg adapter raises it: the driver's error as ``orig``."""
    return DBAPIError("INSERT …", {}, error)


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
    _wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
], ids=["deadlock", "serialization", "wrapped"])
async def test_a_write_aborted_by_a_concurrent_one_is_a_503_to_retry(error):
    app = FastAPI()
    problems.install(app)

    @app.post("/uploads")
    async def upload():
        raise error

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as client:
        answer = await client.post("/uploads")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "1"
    assert "nothing of it was written" in answer.json()["detail"]


def test_contention_is_told_from_other_database_errors():
    assert is_contention(_wrapped(asyncpg.exceptions.SerializationError("x")))
    assert not is_contention(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_contention(ValueError("deadlock"))
    assert not is_contention(None)
