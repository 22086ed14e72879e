"""Bulk exchange with other departments (部门数据比对与交换): lookup of a list of ID numbers,
department list uploads, the roll export — HTTP → one use case each."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from pydantic import BaseModel, Field

from services.registry import lookup as bulk
from shared.auth import Principal, Role, require
from shared.web import db_session, router

exchange = router(tags=["exchange (部门数据交换)"])

READERS = (Role.village, Role.township, Role.county_office, Role.city_office, Role.province_office,
           Role.county_finance, Role.department)


class LookupIn(BaseModel):
    id_numbers: list[str] = Field(min_length=1, max_length=bulk.MAX_IDS,
                                  description=f"up to {bulk.MAX_IDS} 18-character ID numbers")


@exchange.post(
    "/persons/lookup", summary="Look up a list of ID numbers (批量比对)", openapi_extra={"x-idempotency": "optional"},
    description=f"Up to {bulk.MAX_IDS:,} ID numbers in one request → for each, in the order sent: `found`, and when "
    "found in your jurisdiction the person's registry status (`status`, `on_roll`, household number, village) and "
    "the fields your role may see — offices everything; a department its identity fields plus what its work needs "
    "(民政 poverty attribute, 教育 school stage, 卫健 health, 人社 labour, 残联 disability) and its own data. A "
    "number registered outside your jurisdiction answers `found: false`. Every malformed number is named in one "
    "422 (`id_numbers[i]`). Read-only: no Idempotency-Key needed.")
async def lookup(body: LookupIn, principal: Principal = Depends(require(*READERS)),
                 session=Depends(db_session)) -> dict[str, Any]:
    items = await bulk.lookup(session, principal, body.id_numbers)
    return {"count": len(items), "found": sum(i["found"] for i in items), "items": items}
