"""Disbursement batches (拨付批次): HTTP → :func:`services.funds.usecases.batches.post_batch`.

The body (up to 100,000 lines) is validated straight from its bytes, lines as typed dicts (no model
object per line); the use case checks the envelope, screens the lines, posts and answers.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema
from typing_extensions import NotRequired, TypedDict

from services.funds.api.operations import PayeeKind
from services.funds.api.schemas import BatchOut
from services.funds.contract import DISBURSEMENT_BATCH_POSTED, POSTINGS_PER_BATCH_EVENT
from services.funds.domain import purpose_schema
from services.funds.usecases import batches as usecase
from shared.auth import Role, Writer
from shared.bulk import gc_paused
from shared.money import Yuan
from shared.web import Session, router
from shared.fields import Name

batches = router(tags=["ledger operations (资金下达 整合 拨付)"])


class BatchPayee(TypedDict):
    """The payee of a line (the same fields as a single disbursement's ``payee``)."""

    kind: PayeeKind
    name: Annotated[Name, Field(max_length=200)]
    household_id: NotRequired[Annotated[str | None, Field(description="the registry's household id, for households")]]


class BatchLine(TypedDict):
    line_ref: Annotated[str, Field(min_length=1, max_length=200, description="this line's own idempotency reference")]
    project_code: Annotated[str, Field(min_length=2, max_length=60)]
    channel: str
    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    payee: BatchPayee
    amount: Yuan
    #: checked per line (unknown or negative-list purposes refuse the line, with the valid codes)
    purpose: NotRequired[Annotated[str | None, Field(max_length=100), WithJsonSchema(
        {"anyOf": [purpose_schema(), {"type": "null"}]})]]


class BatchIn(BaseModel):
    batch_ref: str = Field(min_length=1, max_length=200)
    schedule_date: date
    document_no: str = Field("", max_length=100)
    count: int = Field(ge=1, le=100_000, description="lines in the envelope")
    total: Yuan = Field(description="sum of the lines, exactly")
    partial: bool = Field(False, description="post the good lines even if others are refused")
    lines: list[BatchLine] = Field(min_length=1, max_length=100_000)


def _parse(raw: bytes) -> BatchIn:
    """The body validated from its bytes (pydantic parses the JSON itself); a failure is the same 422
    problem as for a declared body."""
    try:
        return BatchIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


@batches.post("/disbursement-batches", status_code=201, summary="Post a disbursement batch (拨付批次)",
              description="The envelope is settled only when its lines match its count and total exactly. A line "
              "over its commitment, to a project the projects gate refuses (not in the county's library with its "
              "publicity passed, or cancelled), or with a negative-list purpose, is refused with the reason; then nothing is "
              "posted unless `partial` is true. A line whose `line_ref` was posted before is skipped (retries are safe). "
              f"The posted lines are recorded as `{DISBURSEMENT_BATCH_POSTED}` events of up to "
              f"{POSTINGS_PER_BATCH_EVENT} postings each.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": BatchIn.model_json_schema()}}}}, responses={201: {"model": BatchOut}})
async def post_batch(request: Request, principal: Writer(Role.county_finance),
                     session: Session) -> dict[str, Any]:
    raw = await request.body()
    with gc_paused():
        return await usecase.post_batch(session, principal, _parse(raw), policy=request.app.state.policy,
                                        now=request.app.state.clock.now())
