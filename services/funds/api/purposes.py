"""The purpose code list (资金用途) as the API serves it: every code with its Chinese label, and
whether the negative list in force for the caller's division marks it forbidden."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Query, Request

from services.funds.api.payment_schemas import PurposesOut
from services.funds.api.reports import Readers
from services.funds.domain import NEGATIVE_LIST_RULE, PURPOSES, negative_list
from shared.web import router

purposes = router(tags=["code lists"])


@purposes.get("/purposes", summary="Purpose codes (资金用途) with Chinese labels and the negative list",
              description="The closed list every write that takes a `purpose` accepts; `forbidden` marks the codes on "
              "the negative list of 财农〔2017〕8号 in force for the caller's division on `on` (default today).",
              responses={200: {"model": PurposesOut}})
async def purpose_list(request: Request, principal: Readers,
                       on: date | None = Query(None, description="the date (default: today)")) -> dict[str, Any]:
    on = on or request.app.state.clock.today()
    forbidden = {item["code"] for item in negative_list(request.app.state.policy, principal.division, on)}
    return {"on": on.isoformat(), "negative_list_rule": NEGATIVE_LIST_RULE,
            "items": [{"code": code, "label_zh": label, "forbidden": code in forbidden} for code, label in PURPOSES.items()]}
