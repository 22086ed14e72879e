"""The registry's pure domain (ARCHITECTURE.md rule 6): code lists, pathway routing, the household
exit check, monitoring, micro-credit terms, statistics and the 精河县-shaped demo roll.

Plain functions and dataclasses, no database, HTTP or Kafka; every figure comes from the policy
table (rule 7) and money is integer fen (rule 8). The API and handlers load state and call these;
the auditor calls the same functions on state rebuilt from events.
"""

from .codes import (
    CODE_LISTS,
    Cause,
    CodeEnum,
    DiscoveryRoute,
    ExitCheck,
    LabourCapacity,
    MonitoringCategory,
    Pathway,
    PovertyAttribute,
    Relation,
    RemovalReason,
    code_list,
    parse,
)
from .exit import (
    INCOME_BELOW_STANDARD,
    INCOME_MISSING,
    ExitAssessment,
    Unmet,
    check_exit,
    income_standard_fen,
    post_exit_policies_continue,
)
from .jinghe_shape import (
    JINGHE_COUNTY,
    JINGHE_EXITS,
    JINGHE_TOTAL,
    JINGHE_TOWNSHIP_CODES,
    JINGHE_TOWNSHIPS,
    JINGHE_WITH_LABOUR,
    JINGHE_WITHOUT_LABOUR,
    jinghe_households,
)
from .microcredit import check_microcredit
from .monitoring import NoMonitoringLineError, classify, monitoring_line
from .routing import RULE_ORDER, Proposal, Situation, propose_pathways
from .statistics import (
    AreaExitEvaluation,
    HeadCount,
    HouseholdFacts,
    Statistics,
    compute_statistics,
    county_exit_evaluation,
    percent_string,
    township_of,
    village_exit_evaluation,
)

__all__ = [
    "CODE_LISTS",
    "INCOME_BELOW_STANDARD",
    "INCOME_MISSING",
    "JINGHE_COUNTY",
    "JINGHE_EXITS",
    "JINGHE_TOTAL",
    "JINGHE_TOWNSHIPS",
    "JINGHE_TOWNSHIP_CODES",
    "JINGHE_WITHOUT_LABOUR",
    "JINGHE_WITH_LABOUR",
    "RULE_ORDER",
    "AreaExitEvaluation",
    "Cause",
    "CodeEnum",
    "DiscoveryRoute",
    "ExitAssessment",
    "ExitCheck",
    "HeadCount",
    "HouseholdFacts",
    "LabourCapacity",
    "MonitoringCategory",
    "NoMonitoringLineError",
    "Pathway",
    "PovertyAttribute",
    "Proposal",
    "Relation",
    "RemovalReason",
    "Situation",
    "Statistics",
    "Unmet",
    "check_exit",
    "check_microcredit",
    "classify",
    "code_list",
    "compute_statistics",
    "county_exit_evaluation",
    "income_standard_fen",
    "jinghe_households",
    "monitoring_line",
    "parse",
    "percent_string",
    "post_exit_policies_continue",
    "propose_pathways",
    "township_of",
    "village_exit_evaluation",
]
