"""Change requests (信息更正): HTTP → one use case of ``services.registry.usecases.corrections``."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Path, Request
from pydantic import BaseModel, Field, model_validator

from services.registry.api import exports
from services.registry.api.schemas import ChangeRequestOut, ChangeRequestsOut
from services.registry.usecases import corrections
from services.registry.usecases.assistance import DEPARTMENT_FIELDS
from services.registry.domain import corrections as rules
from shared.auth import DEPARTMENTS, Reader, Role, Writer, query_scope
from shared.divisions import DivisionCode
from shared.web import Session, router
from shared.web.export import exportable

correction_router = router(tags=["change requests (信息更正)"])

PROPOSERS = (Role.village, Role.township, Role.county_office, Role.department)
DECIDERS = (Role.township, Role.county_office, Role.city_office, Role.province_office, Role.department)


class ChangeRequestIn(BaseModel):
    target: Literal["person", "household", "department"]
    id_number: str | None = Field(None, min_length=18, max_length=18, description="person / department: whose data")
    household_id: uuid.UUID | None = Field(None, description="household: which household")
    dept: Literal[tuple(sorted(DEPARTMENTS))] | None = Field(None, description="department: whose data")  # type: ignore[valid-type]
    changes: dict[str, Any] = Field(min_length=1, max_length=20, description="field → new value. Person: "
                                    + ", ".join([*rules.IDENTITY_FIELDS, *rules.PERSON_FIELDS]) + ". Household: "
                                    + ", ".join(rules.HOUSEHOLD_FIELDS) + ". Department: that department's fields.")
    reason: str = Field(min_length=2, max_length=1000)
    document: str | None = Field(None, max_length=100, description="the supporting document (户口簿, 公安证明 …)")

    @model_validator(mode="after")
    def _whose(self):
        if self.target == "household" and self.household_id is None:
            raise ValueError("household_id is required for a household correction")
        if self.target != "household" and self.id_number is None:
            raise ValueError("id_number is required for a person or department correction")
        if (self.target == "department") != (self.dept is not None):
            raise ValueError("dept is given for, and only for, a department correction")
        return self


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=1000)


def department_fields(dept: str, old: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A department's changes validated by that department's own model (the one its updates use)."""
    model = DEPARTMENT_FIELDS.get(dept)
    if model is None:
        raise ValueError(f"{dept} data is not kept per person")
    unknown = set(changes) - set(model.model_fields)
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}; one of {sorted(model.model_fields)}")
    merged = model.model_validate({**old, **changes}).model_dump()
    return {field: merged[field] for field in changes}


@correction_router.post(
    "/change-requests", status_code=201, summary="Propose a correction (提出信息更正)",
    description="A correction of a person's data (name and ID number included), a household's, or a department's "
    "data on a person. It is applied only when another official of the level the policy requires approves it "
    "(`registry.correction.approval`: identity — county; person, household — township; department — that "
    "department at county level). The old values are kept with the request. A new ID number that belongs to "
    "another active person is refused (409).", responses={201: {"model": ChangeRequestOut}})
async def propose(body: ChangeRequestIn, request: Request,
                  principal: Writer(*PROPOSERS),
                  session: Session) -> dict[str, Any]:
    state = request.app.state
    row = await corrections.propose(
        session, principal, clock=state.clock, policy=state.policy, target=body.target, id_number=body.id_number,
        household_id=body.household_id, dept=body.dept, changes=body.changes, reason=body.reason,
        document=body.document, department_fields=department_fields)
    return corrections.view(row)


@correction_router.post("/change-requests/{request_id}/decision", summary="Approve or refuse a correction",
                        description="By an official other than the proposer, of the required level; an approval "
                        "applies the change (refused with 409 if the data changed since, or the new ID number "
                        "became another active person's).", responses={200: {"model": ChangeRequestOut}})
async def decide(body: DecisionIn, request: Request, request_id: uuid.UUID = Path(),
                 *, principal: Writer(*DECIDERS),
                 session: Session) -> dict[str, Any]:
    row = await corrections.decide(session, principal, request_id, clock=request.app.state.clock,
                                   approve=body.decision == "approve", reason=body.reason)
    return corrections.view(row)


@correction_router.get("/change-requests", summary="Change requests in your jurisdiction (history of corrections)",
                        description="Proposed, approved and refused corrections with their old and new values (ID "
                        "numbers masked), who proposed and who decided; filter by division, status, household.",
                        responses={200: {"model": ChangeRequestsOut}})
@exportable(exports.CHANGE_REQUESTS)
async def search(division: DivisionCode | None = None, status: Literal["proposed", "approved", "rejected"] | None = None,
                 household_id: uuid.UUID | None = None,
                 *, principal: Reader(*PROPOSERS, *DECIDERS),
                 session: Session) -> dict[str, Any]:
    rows = await corrections.search(session, query_scope(principal, division), status=status,
                                    household_id=household_id)
    return {"items": [corrections.view(row) for row in rows]}
