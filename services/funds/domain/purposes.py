"""Purposes of poverty funds (资金用途): a closed code list with Chinese labels.

1. A purpose is one of :data:`PURPOSES` by its exact code; any other string — another spelling,
   a Chinese label, an unknown code — is refused by :func:`known_purpose` with every valid code.
2. The list holds the uses 财农〔2017〕8号 allows (产业发展, 基础设施, …, the county project
   management fee) *and* the nine uses it forbids: which of them are forbidden is not said here
   but by the policy table's negative list (rule ``funds.use.negative_list``, rule 7), whose
   codes must all be codes of this list (a unit test pairs them).
3. The API's schemas (OpenAPI ``enum``), the write checks and the audit's compliance check all
   take the codes from here.

Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .errors import FundsError

__all__ = ["PURPOSES", "PURPOSE_CODES", "UnknownPurpose", "known_purpose", "purpose_schema"]

_ALL = (
    # uses of 财政专项扶贫资金 (财农〔2017〕8号 第十三条; DOMAIN.md §4)
    ("industry_development", "产业发展"),
    ("small_public_infrastructure", "小型公益性生产生活基础设施建设"),
    ("relocation_support", "易地扶贫搬迁配套"),
    ("dangerous_housing_renovation", "农村危房改造"),
    ("skills_training", "贫困劳动力技能培训(雨露计划)"),
    ("education_support", "贫困家庭子女教育补助"),
    ("employment_support", "就业创业扶持"),
    ("microcredit_interest_subsidy", "扶贫小额信贷贴息"),
    ("microcredit_risk_compensation", "扶贫小额信贷风险补偿"),
    ("asset_income", "资产收益扶贫"),
    ("ecological_posts", "生态扶贫公益岗位"),
    ("household_subsidy", "到户补助"),
    ("project_management_fee", "项目管理费"),
    # the nine uses the negative list forbids (the policy table marks them; labels as there)
    ("admin_basic_expenditure", "行政事业单位基本支出"),
    ("vehicles_telecom_equipment", "交通工具及通讯设备"),
    ("bonuses_allowances_benefits", "各种奖金、津贴和福利补助"),
    ("enterprise_losses", "弥补企业亏损"),
    ("buildings_staff_housing", "修建楼堂馆所及贫困农场、林场棚户改造以外的职工住宅"),
    ("budget_gap_debt", "弥补预算支出缺口和偿还债务"),
    ("large_medium_capital_projects", "大中型基本建设项目"),
    ("urban_infrastructure", "城市基础设施建设和城市扶贫"),
    ("unrelated_to_poverty_alleviation", "其他与脱贫攻坚无关的支出"),
)

PURPOSES: Mapping[str, str] = MappingProxyType(dict(_ALL))
"""code → Chinese label."""

PURPOSE_CODES: tuple[str, ...] = tuple(PURPOSES)


class UnknownPurpose(FundsError):
    """A purpose that is not a code of the list. Extensions: ``purpose``, ``valid`` (every code)."""

    code = "unknown_purpose"
    slug = "funds-use"


def known_purpose(value: object) -> str:
    """``value`` when it is a purpose code, else :class:`UnknownPurpose` naming the valid codes."""
    if isinstance(value, str) and value in PURPOSES:
        return value
    raise UnknownPurpose(
        f"未知资金用途 {value!r}，须为用途代码之一 (unknown purpose {value!r}; one of {', '.join(PURPOSE_CODES)})",
        purpose=value if isinstance(value, str) else repr(value),
        valid=list(PURPOSE_CODES),
        errors=[{"field": "purpose", "reason": f"one of {', '.join(PURPOSE_CODES)}"}],
    )


def purpose_schema() -> dict[str, object]:
    """The JSON schema of a purpose code (OpenAPI shows the enum and the labels)."""
    return {"type": "string", "enum": list(PURPOSE_CODES),
            "description": "资金用途 purpose code: " + "; ".join(f"{c} {label}" for c, label in PURPOSES.items())}
