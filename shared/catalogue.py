"""Code lists as a catalogue: each list a :class:`~shared.vocabulary.Vocabulary` with the JSON
fields that carry its codes, the document it comes from and facts per code. Served by
``GET /catalogue`` (shared/web/catalogue.py); built by each service from its single definitions.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.policy import PolicyTable
from shared.policy.citations import public_citation
from shared.vocabulary import Vocabulary

__all__ = ["CodeList", "policy_rules", "shared_lists"]


@dataclass(frozen=True)
class CodeList:
    """One code list of a service: its vocabulary, the response/request fields that carry its
    codes, where it comes from (a policy document; internal references are never shown), and
    facts per code (``{"forbidden": True}`` on the negative list …)."""

    vocabulary: Vocabulary
    fields: tuple[str, ...]
    citation: str | None = None
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        v = self.vocabulary
        return {"name": v.name, "zh": v.zh, "en": v.en, "fields": list(self.fields),
                "citation": public_citation(self.citation),
                "codes": [{**c.as_dict(), **self.facts.get(c.code, {})} for c in v]}


def policy_rules(policy: PolicyTable, prefix: str = "") -> CodeList:
    """The rules of the policy table (ids starting with ``prefix``) as a code list: each id with
    its title, the document it comes from and the jurisdictions with their own version — the
    ``rule_id`` of a deadline or a finding explains itself."""
    codes, facts = [], {}
    for rule_id in (i for i in policy.ids() if i.startswith(prefix)):
        versions = policy.all(rule_id)
        national = next((r for r in reversed(versions) if r.jurisdiction == ""), versions[-1])
        codes.append((rule_id, national.title, rule_id.replace(".", " ").replace("_", " ")))
        facts[rule_id] = {"citation": public_citation(national.citation),
                          "jurisdictions": sorted({r.jurisdiction for r in versions})}
    name = "policy_rule" if not prefix else prefix.strip(".").replace(".", "_") + "_rule"
    return CodeList(Vocabulary.of(name, "政策规则", "policy rule", codes), ("rule_id", "rule"), facts=facts)


#: what GET /healthz and GET /readyz answer in `status`
SERVICE_STATUS = Vocabulary.of("service_status", "服务状态", "service status", [
    ("ok", "运行中", "live"), ("ready", "就绪", "ready"), ("degraded", "降级（日志告警）", "degraded: a log alarm"),
    ("not ready", "未就绪", "not ready: a dependency is down")])


def shared_lists(policy: PolicyTable) -> list[CodeList]:
    """The lists of the announcements every service publishes (公告公示), their rules, and the
    status words of the health answers."""
    from shared.announcements.domain import ANNOUNCEMENT_VOCABULARIES  # the package brings the web stack

    return [*(CodeList(v, fields, "国开办发〔2017〕50号") for v, fields in ANNOUNCEMENT_VOCABULARIES),
            policy_rules(policy, "announcement."), CodeList(SERVICE_STATUS, ("status",))]
