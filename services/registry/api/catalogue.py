"""``GET /catalogue`` of the registry (shared/web/catalogue.py): every registry vocabulary
(services/registry/domain/codes.py) with the fields that carry it, and the rules of the policy
table the registry applies (identification, exit, monitoring, villages, grievances)."""

from __future__ import annotations

from services.registry.domain import corrections, duplicates, grievance
from services.registry.domain.codes import VOCABULARIES
from services.registry.domain.office_codes import OFFICE_LISTS
from services.registry.domain.departments import DEPARTMENT, DEPARTMENT_SCHOOL_STAGE
from shared.announcements.contract import SERVICE
from shared.catalogue import CodeList, policy_rules
from shared.vocabulary import Vocabulary
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
#: 信访条例: how grievances are received, accepted and answered
GRIEVANCE_RULES = "《信访条例》(国务院令第431号)"
RULE_PREFIXES = ("household.", "registry.", "monitoring.", "village.", "grievance.", "evaluation.", "county.",
                 "microcredit.", "division.")


IMPORT_STATUS = Vocabulary.of("import_status", "导入结果", "import outcome", [
    ("imported", "已导入", "imported"), ("refused", "整批退回", "refused as a whole")])


def _lists(request) -> list[CodeList]:
    policy = request.app.state.policy
    return [*(CodeList(v, FIELDS.get(name, (name,)), CITATIONS.get(name)) for name, v in VOCABULARIES.items()),
            CodeList(IMPORT_STATUS, ("status",)),
            *(CodeList(v, fields) for v, fields in OFFICE_LISTS),
            *(CodeList(v, fields, GRIEVANCE_RULES) for v, fields in (
                (grievance.CHANNEL, ("channel",)), (grievance.CATEGORY, ("category",)),
                (grievance.LINK_KIND, ("links.kind",)), (grievance.OUTCOME, ("outcome",)),
                (grievance.STATUS, ("status",)), (grievance.LATE, ("overdue", "late")))),
            CodeList(corrections.KIND, ("kind",)), CodeList(corrections.STATUS, ("status",)),
            CodeList(duplicates.STATUS, ("status",)), CodeList(DEPARTMENT, ("dept",)),
            CodeList(DEPARTMENT_SCHOOL_STAGE, ("school_stage",)), CodeList(SERVICE, ("service",)),
            *(policy_rules(policy, prefix) for prefix in RULE_PREFIXES)]


catalogue = catalogue_router(_lists)
