"""``GET /catalogue`` of the projects service (shared/web/catalogue.py): project types,
mechanisms, stages and steps, the funds' channels a proposal's sources name and payees it is paid
to, the registry's household statuses of its beneficiaries, the project rules."""

from __future__ import annotations

from services.funds.contract import CHANNEL_VOCABULARY, OPERATION_VOCABULARY, PAYEE_KIND_VOCABULARY
from services.projects.domain.code_lists import projects_code_lists
from services.registry.contract import HOUSEHOLD_STATUS
from shared.catalogue import CodeList
from shared.web.catalogue import catalogue_router

catalogue = catalogue_router(lambda request: [
    *projects_code_lists(request.app.state.policy), CodeList(CHANNEL_VOCABULARY, ("channel",), "国办发〔2016〕22号"),
    CodeList(PAYEE_KIND_VOCABULARY, ("kind",)), CodeList(OPERATION_VOCABULARY, ("operation",)),
    CodeList(HOUSEHOLD_STATUS, ("status", "registry_status"))])
