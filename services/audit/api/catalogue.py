"""``GET /catalogue`` of the audit service (shared/web/catalogue.py): the rules a finding names
(every rule of the policy table, with its document), the services a finding or discrepancy
comes from, the kinds of discrepancy between a service's figures and the rebuild, the funds'
account kinds, channels and ledger operations the report's figures carry, the kinds of problem
the log verification names, and the components of a performance score."""

from __future__ import annotations

from services.audit.domain.code_lists import CHAIN_PROBLEM_KIND, DISCREPANCY_KIND, SCORE_COMPONENT, SOURCE
from services.funds.contract import ACCOUNT_KIND_VOCABULARY, CHANNEL_VOCABULARY, OPERATION_VOCABULARY
from shared.catalogue import CodeList, policy_rules
from shared.web.catalogue import catalogue_router

catalogue = catalogue_router(lambda request: [
    policy_rules(request.app.state.policy), CodeList(SOURCE, ("source", "service")),
    CodeList(DISCREPANCY_KIND, ("kind",)), CodeList(ACCOUNT_KIND_VOCABULARY, ("kind",)),
    CodeList(CHANNEL_VOCABULARY, ("channel",)), CodeList(OPERATION_VOCABULARY, ("operation",)),
    CodeList(CHAIN_PROBLEM_KIND, ("problems.kind", "reference_problems.kind", "checkpoint_problems.kind")),
    CodeList(SCORE_COMPONENT, ("component",))])
