"""``GET /catalogue`` of the registry (shared/web/catalogue.py): every registry vocabulary
(services/registry/domain/codes.py; office_codes.py for grievances, corrections, benefits) with the
fields that carry it, and the rules of the policy table the registry applies (identification, exit,
monitoring, villages, grievances)."""

from __future__ import annotations

from services.registry.domain.codes import VOCABULARIES
from services.registry.domain.office_codes import OFFICE_LISTS
from shared.catalogue import CodeList, policy_rules
from shared.web.catalogue import catalogue_router

#: The JSON fields a vocabulary's codes travel in, where not the vocabulary's own name.
FIELDS = {
    "cause": ("cause", "main_cause", "secondary_cause", "secondary_causes", "causes"),
    "income_component": ("components", "component"),
    "leave_reason": ("reason",),
    "removal_reason": ("reason",),
    "discovery_route": ("route",),
    "exit_check": ("check", "checks", "unmet"),
    "monitoring_category": ("category",),
    "status": ("status", "from_status", "to_status", "status_as_of"),
}
#: 建档立卡 and the exit rules: 国开办发〔2014〕24号 (扶贫开发建档立卡工作方案), 厅字〔2016〕16号 (贫困退出机制).
CITATIONS = {"cause": "国开办发〔2014〕24号", "status": "国开办发〔2014〕24号; 厅字〔2016〕16号",
             "exit_check": "厅字〔2016〕16号", "poverty_attribute": "国开办发〔2014〕24号"}
RULE_PREFIXES = ("household.", "registry.", "monitoring.", "village.", "grievance.", "evaluation.", "county.",
                 "microcredit.", "division.")


def _lists(request) -> list[CodeList]:
    policy = request.app.state.policy
    return [*(CodeList(v, FIELDS.get(name, (name,)), CITATIONS.get(name)) for name, v in VOCABULARIES.items()),
            *(CodeList(v, fields) for v, fields in OFFICE_LISTS),
            *(policy_rules(policy, prefix) for prefix in RULE_PREFIXES)]


catalogue = catalogue_router(_lists)
