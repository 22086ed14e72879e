"""The funds service's code lists as the catalogue (``GET /catalogue``) serves them: channels,
purposes with the negative list marked, account kinds, operations, holder roles, deadline kinds
and states, and the deadline rules of the policy table.

The codes and Chinese labels are the single definitions in :mod:`.channels`, :mod:`.purposes`,
:mod:`.ledger` and :mod:`.deadlines`; this module adds the English labels and the facts a client
shows beside them. Pure: the policy table and the day are given.
"""

from __future__ import annotations

from datetime import date

from shared.policy import PolicyTable
from shared.vocabulary import Vocabulary
from shared.catalogue import CodeList, policy_rules

from .channels import CHANNELS
from .deadlines import DEADLINE_KIND_LABELS, DEADLINE_STATES
from .ledger import KIND_LABELS, OPERATION_LABELS, ROLE_LABELS
from .payments import DIFFERENCE_LABELS, RESULT_FORMAT_LABELS, RESULT_PROBLEM_LABELS, STATE_LABELS, STATES
from .purposes import PURPOSES
from .rules import NEGATIVE_LIST_RULE, negative_list

__all__ = ["funds_code_lists", "label"]

CHANNEL_EN = {
    "central_special": "central special poverty-alleviation funds",
    "provincial_special": "provincial special poverty-alleviation funds",
    "city_special": "city special poverty-alleviation funds",
    "county_special": "county special poverty-alleviation funds",
    "agri_integrated_irrigation": "farmland irrigation and soil-conservation subsidy",
    "agri_integrated_farmland": "farmland construction (high-standard farmland) subsidy",
    "agri_integrated_forestry": "forestry reform and development funds",
    "agri_integrated_rural_roads": "vehicle-purchase-tax subsidy to localities (rural roads)",
    "agri_integrated_dangerous_housing": "rural dilapidated-housing renovation subsidy",
    "agri_integrated_comprehensive_dev": "agricultural comprehensive development subsidy",
    "agri_integrated_ethnic_minority": "ethnic minority development funds",
    "agri_integrated_lottery": "central lottery public-welfare funds for poverty alleviation",
    "agri_integrated_drinking_water": "rural drinking-water safety consolidation funds",
    "agri_integrated_production": "agricultural production development funds",
    "work_relief": "work-relief funds (以工代赈)",
    "east_west": "east–west cooperation and paired-assistance funds",
    "designated_assistance": "designated assistance funds",
    "social_donation": "social donations",
    "relocation_central_budget": "relocation: central budget investment",
    "relocation_local_bond": "relocation: local government bond funds",
    "relocation_special_construction": "relocation: special construction fund",
    "interest_subsidy": "poverty-loan interest subsidy funds",
    "risk_compensation": "microcredit risk-compensation funds",
}
PURPOSE_EN = {
    "industry_development": "industry development",
    "small_public_infrastructure": "small public-benefit production and living infrastructure",
    "relocation_support": "relocation support facilities",
    "dangerous_housing_renovation": "rural dilapidated-housing renovation",
    "skills_training": "skills training of poor labourers (雨露计划)",
    "education_support": "education subsidies for children of poor families",
    "employment_support": "employment and business start-up support",
    "microcredit_interest_subsidy": "poverty microcredit interest subsidy",
    "microcredit_risk_compensation": "poverty microcredit risk compensation",
    "asset_income": "asset-income poverty alleviation",
    "ecological_posts": "ecological public-welfare posts",
    "household_subsidy": "subsidies paid to households",
    "project_management_fee": "project management fee",
    "admin_basic_expenditure": "basic expenditure of administrative and public institutions",
    "vehicles_telecom_equipment": "vehicles and telecommunication equipment",
    "bonuses_allowances_benefits": "bonuses, allowances and welfare subsidies",
    "enterprise_losses": "covering enterprise losses",
    "buildings_staff_housing": "office buildings and staff housing",
    "budget_gap_debt": "covering budget gaps and repaying debt",
    "large_medium_capital_projects": "large and medium capital construction projects",
    "urban_infrastructure": "urban infrastructure and urban poverty alleviation",
    "unrelated_to_poverty_alleviation": "other spending unrelated to poverty alleviation",
}
KIND_EN = {
    "appropriation": "budget appropriation (external source)", "available": "available funds",
    "pool": "integration pool", "committed": "committed to projects", "stranded": "stranded funds",
    "returned": "recovered funds", "disbursed": "disbursed (external destination)",
}
OPERATION_EN = {
    "appropriate": "appropriation", "allocate": "allocation to a lower division",
    "integrate": "integration of agriculture-related funds", "commit": "commitment to a project",
    "disburse": "disbursement", "strand": "stranded funds identified", "return": "return of stranded funds",
    "reallocate": "re-allocation of recovered funds",
    "payment_return": "return of money the bank refused to pay",
}
ROLE_EN = {"finance": "finance bureau", "office": "poverty alleviation office"}
DEADLINE_KIND_EN = {"onward_allocation": "onward allocation deadline", "onto_projects": "funds onto projects deadline",
                    "stranded_return": "return of stranded funds deadline"}
DEADLINE_STATE_LABELS = {"open": ("未到期", "open"), "met": ("已按时完成", "met"), "missed": ("已逾期", "missed"),
                        "withdrawn": ("已撤销(下达已冲正)", "withdrawn: its allocation was reversed")}
ORIGIN_LABELS = {"central": ("中央", "central"), "provincial": ("省级", "provincial"), "city": ("市级", "city"),
                 "county": ("县级", "county"), "other": ("其他来源", "other")}


def _en(table: dict[str, str], code: str) -> str:
    return table.get(code) or code.replace("_", " ")  # a code added later still reads in English


CHANNEL = Vocabulary.of("channel", "资金渠道", "fund channel",
                        [(c.code, c.label_zh, _en(CHANNEL_EN, c.code)) for c in CHANNELS.values()])
PURPOSE = Vocabulary.of("purpose", "资金用途", "purpose of funds",
                        [(code, zh, _en(PURPOSE_EN, code)) for code, zh in PURPOSES.items()])
ACCOUNT_KIND = Vocabulary.of("account_kind", "账户类型", "account kind",
                             [(code, zh, _en(KIND_EN, code)) for code, zh in KIND_LABELS.items()])
OPERATION = Vocabulary.of("operation", "资金操作", "ledger operation",
                          [(code, zh, _en(OPERATION_EN, code)) for code, zh in OPERATION_LABELS.items()])
HOLDER_ROLE = Vocabulary.of("holder_role", "账户持有方", "account holder",
                            [(code, zh, _en(ROLE_EN, code)) for code, zh in ROLE_LABELS.items()])
DEADLINE_KIND = Vocabulary.of("deadline_kind", "时限类型", "deadline kind",
                              [(code, zh, _en(DEADLINE_KIND_EN, code)) for code, zh in DEADLINE_KIND_LABELS.items()])
DEADLINE_STATE = Vocabulary.of("deadline_state", "时限状态", "deadline state",
                               [(code, *DEADLINE_STATE_LABELS[code]) for code in DEADLINE_STATES])
PAYEE_KIND = Vocabulary.of("payee_kind", "收款方类型", "payee kind", [
    ("enterprise", "企业", "enterprise"), ("cooperative", "农民专业合作社", "farmers' cooperative"),
    ("household", "贫困户", "registered household"), ("contractor", "项目施工单位", "contractor")])
PAYMENT_STATE_EN = {"instructed": "instructed", "paid": "paid", "refused": "refused by the bank",
                    "reissued": "re-issued"}
PAYMENT_STATE = Vocabulary.of("payment_state", "支付指令状态", "payment instruction state",
                              [(code, STATE_LABELS[code], PAYMENT_STATE_EN[code]) for code in STATES])
RECONCILIATION_DIFFERENCE = Vocabulary.of("reconciliation_difference", "对账差异", "reconciliation difference",
                                          [(code, *labels) for code, labels in DIFFERENCE_LABELS.items()])
BANK_RESULT_FORMAT = Vocabulary.of("bank_result_format", "银行结果文件格式", "bank result file format",
                                   [(code, *labels) for code, labels in RESULT_FORMAT_LABELS.items()])
BANK_RESULT_PROBLEM = Vocabulary.of("bank_result_problem", "银行结果文件问题", "problem with a bank result line",
                                    [(code, *labels) for code, labels in RESULT_PROBLEM_LABELS.items()])
ORIGIN = Vocabulary.of("origin", "资金来源层级", "level the money comes from",
                       [(code, *labels) for code, labels in ORIGIN_LABELS.items()])

_BY_NAME = {v.name: v for v in (CHANNEL, PURPOSE, ACCOUNT_KIND, OPERATION, HOLDER_ROLE, DEADLINE_KIND,
                                 DEADLINE_STATE, ORIGIN, PAYEE_KIND, PAYMENT_STATE, RECONCILIATION_DIFFERENCE,
                                 BANK_RESULT_FORMAT, BANK_RESULT_PROBLEM)}


def label(list_name: str, code: str) -> str:
    """The Chinese label of ``code`` in the list ``list_name`` (the code itself when unknown)."""
    return _BY_NAME[list_name].label(code)


def funds_code_lists(policy: PolicyTable, division: str, on: date) -> list[CodeList]:
    """Every list, the negative list as in force for ``division`` on ``on``."""
    forbidden = {item["code"] for item in negative_list(policy, division, on)}
    try:
        negative_citation = policy.lookup(NEGATIVE_LIST_RULE, division, on).citation
    except LookupError:
        negative_citation = None
    return [
        CodeList(CHANNEL, ("channel",), "国办发〔2016〕22号", facts={
            c.code: {"origin": c.origin, "integrable": c.integrable,
                     "source_level": c.source_level.value if c.source_level else None} for c in CHANNELS.values()}),
        CodeList(PURPOSE, ("purpose",), negative_citation or "财农〔2017〕8号", facts={
            code: {"forbidden": code in forbidden} for code in PURPOSES}),
        CodeList(ACCOUNT_KIND, ("kind", "from_kind", "to_kind")),
        CodeList(OPERATION, ("operation", "reversed_operation")),
        CodeList(HOLDER_ROLE, ("role",)),
        CodeList(PAYEE_KIND, ("kind", "payee_kind")),
        CodeList(ORIGIN, ("origin",)),
        CodeList(DEADLINE_KIND, ("kind",)),
        CodeList(DEADLINE_STATE, ("state", "recorded_state")),
        CodeList(PAYMENT_STATE, ("state",)),
        CodeList(RECONCILIATION_DIFFERENCE, ("kind",)),
        CodeList(BANK_RESULT_FORMAT, ("format",)),
        CodeList(BANK_RESULT_PROBLEM, ("problems.code",)),
        policy_rules(policy, "funds."),
    ]
