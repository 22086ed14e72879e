"""Policy as data (ARCHITECTURE.md rule 7).

Deadlines, announcement periods, exit standards, monitoring lines, the negative list, fee caps and
the holiday calendar live in a versioned rule table (``rules.yaml`` beside this file), each rule
with a jurisdiction (division-code prefix), effective dates and a citation. Deployments override
rules with extra YAML files (setting ``policy_files``) without code changes::

    from shared.policy import load_policy
    policy = load_policy(settings.policy_files)
    rule = policy.lookup("announcement.min_period", "652722101001", date(2017, 5, 2))
    rule.value      # {'days': 10, 'unit': 'calendar'}
    rule.citation   # '国开办发〔2017〕50号; DOMAIN.md §6'

Pure: no database, HTTP or Kafka.
"""

from .calendar import add_days, add_months, deadline, holidays_for, is_working_day
from .table import (
    AUTHORITIES,
    PRECEDENCE_RULE,
    SHIPPED_RULES,
    NoRuleError,
    PolicyError,
    PolicyTable,
    Rule,
    load_policy,
    load_rules_file,
    parse_rules,
)

__all__ = [
    "AUTHORITIES",
    "PRECEDENCE_RULE",
    "SHIPPED_RULES",
    "NoRuleError",
    "PolicyError",
    "PolicyTable",
    "Rule",
    "add_days",
    "add_months",
    "deadline",
    "holidays_for",
    "is_working_day",
    "load_policy",
    "load_rules_file",
    "parse_rules",
]
