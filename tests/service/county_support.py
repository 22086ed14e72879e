"""Support for the county-work tests (issue 16): the divisions an import needs, uploads."""

from __future__ import annotations

import asyncpg

from shared.config import libpq_url
from tests.service.registry_support import COUNTY, TOWNSHIP, VILLAGE


async def seed_divisions(settings) -> None:
    """The county, township and village of ``registry_support`` in the divisions table."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        await conn.executemany(
            "INSERT INTO divisions (code, name, level, parent, synthetic) VALUES ($1, $2, $3, $4, true) "
            "ON CONFLICT DO NOTHING",
            [(COUNTY, "精河县", "county", "652700000000"), (TOWNSHIP, "测试镇", "township", COUNTY),
             (VILLAGE, "一村", "village", TOWNSHIP)])
    finally:
        await conn.close()


async def upload(r, path: str, filename: str, data: bytes, role="county_office", division=COUNTY, key=None, **extra):
    headers = r.headers(role, division) if key is None else {**r.token(role, division), "Idempotency-Key": key}
    return await r.client.post(path, files={"file": (filename, data, "application/octet-stream")}, headers=headers,
                               **extra)
