"""The projects service's code lists as the catalogue (``GET /catalogue``) serves them: project
types with their categories, benefit-linking mechanisms, benefit kinds, performance-target kinds,
asset kinds and owners, 百企千村 enterprise types, lifecycle stages and steps (with their offices and preconditions), and
the project rules of the policy table.

Codes and Chinese labels are the single definitions in :mod:`.catalogue` and :mod:`.lifecycle`;
this module adds the English labels and the facts shown beside them. Pure.
"""

from __future__ import annotations

from shared.catalogue import CodeList, policy_rules
from shared.policy import PolicyTable
from shared.vocabulary import Vocabulary

from . import lifecycle
from .adjustment import ACTIONS as ADJUSTMENT_ACTIONS
from .pairing import COMMITMENTS, ENTERPRISE_TYPES
from .catalogue import (ASSET_KINDS, ASSET_OWNERS, BENEFIT_KINDS, CATEGORIES, MECHANISMS, OPERATOR_KINDS, TARGET_KINDS,
                        TYPES)

__all__ = ["projects_code_lists"]

LIBRARY_CITATION = "国开办发〔2018〕10号"  # 关于完善扶贫项目库建设的指导意见

TYPE_EN = {
    "industry.planting": "crop farming", "industry.livestock": "livestock farming",
    "industry.forestry": "forestry and orchards", "industry.processing": "farm-produce processing",
    "industry.handicraft": "handicrafts", "industry.solar": "solar power for poverty alleviation",
    "industry.tourism": "rural tourism", "industry.ecommerce": "e-commerce for poverty alleviation",
    "industry.asset_income": "asset-income poverty alleviation",
    "employment.jobs": "jobs (poverty-alleviation workshops, public-welfare posts)",
    "employment.training": "skills training", "relocation": "poverty-alleviation relocation",
    "education": "education", "health": "health", "ecology": "ecology (ecological forest rangers …)",
    "infrastructure.road": "rural roads", "infrastructure.drinking_water": "safe rural drinking water",
    "infrastructure.power": "rural power", "infrastructure.broadband": "broadband",
    "housing": "rural dilapidated-housing renovation", "environment": "village environment improvement",
    "work_relief": "work relief", "interest_subsidy": "poverty-loan interest subsidy",
}
CATEGORY_EN = {
    "industry": "industry development", "employment": "employment", "relocation": "relocation",
    "education": "education", "health": "health", "ecology": "ecology", "infrastructure": "infrastructure",
    "housing": "housing renovation", "environment": "village environment", "work_relief": "work relief",
    "finance": "finance",
}
MECHANISM_EN = {
    "order": "purchase orders", "equity_dividend": "equity and dividends", "employment": "employment",
    "asset_income": "asset income", "land_transfer": "land transfer", "direct_support": "direct household support",
    "other": "other",
}
BENEFIT_EN = {"wages": "wages", "dividend": "dividend", "subsidy": "subsidy", "in_kind": "in kind"}
TARGET_EN = {"output": "output indicator", "benefit": "benefit indicator", "satisfaction": "satisfaction indicator"}
ASSET_KIND_EN = {"public_good": "public-good asset", "productive": "productive asset"}
OPERATOR_EN = {"village_collective": "village collective economic organisation", "cooperative": "farmers' cooperative",
               "enterprise": "enterprise", "other": "other"}
ENTERPRISE_TYPE_EN = {"state_owned": "state-owned enterprise", "private": "private enterprise",
                      "collective": "collective enterprise", "foreign": "foreign-invested enterprise",
                      "cooperative": "farmers' cooperative", "other": "other"}
ASSET_OWNER_EN = {"village_collective": "village collective", "households": "shares quantified to households"}
COMMITMENT_EN = {"villages": "poor villages driven", "households": "poor households driven",
                 "labourers": "registered poor labourers hired", "income": "income of the driven households",
                 "investment": "investment"}
ADJUSTMENT_ACTION_EN = {"add": "added to the library", "remove": "removed from the library",
                        "change": "changed in the library"}
RATING_EN = {"excellent": "excellent", "good": "good", "fair": "fair", "poor": "poor"}
#: a performance target's direction (财农〔2017〕115号: a completion rate either way)
DIRECTIONS = {"at_least": "越高越好（≥）", "at_most": "越低越好（≤）"}
DIRECTION_EN = {"at_least": "more is better (≥)", "at_most": "less is better (≤)"}
ACCEPTANCE_RESULTS = {"passed": "验收合格", "failed": "验收不合格"}
ACCEPTANCE_EN = {"passed": "passed", "failed": "failed"}
RATING_RULE = "project.performance.rating"
STAGE_EN = {
    "proposed": "proposed by the village", "township_reviewed": "reviewed by the township",
    "appraised": "appraised by the county", "approved": "approved by the county", "in_publicity": "under publicity",
    "in_library": "in the project library", "planned": "in the annual plan", "funded": "funded",
    "in_progress": "in progress", "completed": "completed", "accepted": "accepted",
    "results_announced": "results announced", "handed_over": "assets handed over", "cancelled": "cancelled",
    "rejected": "rejected",
}


def _en(table: dict[str, str], code: str) -> str:
    return table.get(code) or code.replace("_", " ").replace("-", " ")


def _vocabulary(name: str, zh: str, en: str, labels, english: dict[str, str]) -> Vocabulary:
    return Vocabulary.of(name, zh, en, [(code, label, _en(english, code)) for code, label in labels])


def projects_code_lists(policy: PolicyTable) -> list[CodeList]:
    steps = lifecycle.STEPS.values()
    rating = next(r for r in reversed(policy.all(RATING_RULE)) if r.jurisdiction == "")  # the national scheme
    return [
        CodeList(_vocabulary("project_type", "项目类型", "project type", ((t.code, t.label) for t in TYPES.values()),
                             TYPE_EN), ("type",), LIBRARY_CITATION,
                 facts={t.code: {"category": t.category, "forms_assets": t.forms_assets} for t in TYPES.values()}),
        CodeList(_vocabulary("project_category", "项目类别", "project category", CATEGORIES.items(), CATEGORY_EN),
                 ("category",), LIBRARY_CITATION),
        CodeList(_vocabulary("mechanism", "带贫益贫机制", "benefit-linking mechanism", MECHANISMS.items(),
                             MECHANISM_EN), ("mechanism", "mechanisms"), LIBRARY_CITATION),
        CodeList(_vocabulary("benefit_kind", "受益形式", "benefit kind", BENEFIT_KINDS.items(), BENEFIT_EN), ("kind",)),
        CodeList(_vocabulary("target_kind", "绩效目标指标类型", "performance-target kind", TARGET_KINDS.items(),
                             TARGET_EN), ("kind",), LIBRARY_CITATION),
        CodeList(_vocabulary("asset_kind", "资产类型", "asset kind", ASSET_KINDS.items(), ASSET_KIND_EN), ("kind",)),
        CodeList(_vocabulary("asset_owner", "资产权属", "asset owner", ASSET_OWNERS.items(), ASSET_OWNER_EN),
                 ("owner",)),
        CodeList(_vocabulary("operator_kind", "运营管护主体类型", "asset operator kind", OPERATOR_KINDS.items(),
                             OPERATOR_EN), ("kind",)),
        CodeList(_vocabulary("enterprise_type", "企业类型", "enterprise type", ENTERPRISE_TYPES.items(),
                             ENTERPRISE_TYPE_EN), ("type", "enterprise.type")),  # 百企千村 enterprises
        CodeList(_vocabulary("stage", "项目阶段", "project stage", lifecycle.STAGES.items(), STAGE_EN),
                 ("stage", "from_stage", "to_stage", "stages"), LIBRARY_CITATION),
        CodeList(_vocabulary("step", "项目步骤", "lifecycle step", ((s.action, s.label) for s in steps), {}),
                 ("action", "step"), LIBRARY_CITATION,
                 facts={s.action: {"from": list(s.from_stages), "to": s.to_stage, "offices": list(s.levels),
                                   "preconditions": [{"name": p, "label": lifecycle.PRECONDITIONS[p][0]}
                                                     for p in s.preconditions], "event": s.event} for s in steps}),
        CodeList(_vocabulary("adjustment_action", "项目库调整事项", "library adjustment item", ADJUSTMENT_ACTIONS.items(),
                             ADJUSTMENT_ACTION_EN), ("items.action",), LIBRARY_CITATION),
        CodeList(_vocabulary("acceptance_result", "验收结论", "acceptance result", ACCEPTANCE_RESULTS.items(),
                             ACCEPTANCE_EN), ("result",)),
        CodeList(_vocabulary("performance_direction", "绩效指标方向", "performance-target direction", DIRECTIONS.items(),
                             DIRECTION_EN), ("direction",), rating.citation),
        CodeList(_vocabulary("performance_rating", "绩效评价等级", "performance rating",
                             ((band["rating"], band["label"]) for band in rating.value["bands"]), RATING_EN),
                 ("rating",), rating.citation,
                 facts={band["rating"]: {"min_score": band["min_score"]} for band in rating.value["bands"]}),
        CodeList(_vocabulary("pairing_commitment", "百企千村量化任务", "百企千村 commitment",
                             ((key.removesuffix("_fen"), label) for key, (label, _) in COMMITMENTS.items()), COMMITMENT_EN),
                 ("commitment",), facts={key.removesuffix("_fen"): {"unit": unit} for key, (_, unit) in COMMITMENTS.items()}),
        policy_rules(policy, "project."),
    ]
