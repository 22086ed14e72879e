"""The catalogue of the project library (扶贫项目库, 国开办发〔2018〕10号; DOMAIN.md §5): project
types with their Chinese labels, benefit-linking mechanisms (带贫益贫机制), benefit kinds and
performance-target kinds. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ProjectType:
    code: str
    label: str  # Chinese label
    category: str  # the group it belongs to (industry, infrastructure, …)
    forms_assets: bool  # whether it usually leaves an asset to hand over (资产移交)

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "category": self.category,
                "category_label": CATEGORIES[self.category], "forms_assets": self.forms_assets}


CATEGORIES = MappingProxyType({
    "industry": "产业发展", "employment": "就业扶贫", "relocation": "易地扶贫搬迁", "education": "教育扶贫",
    "health": "健康扶贫", "ecology": "生态扶贫", "infrastructure": "基础设施", "housing": "危房改造",
    "environment": "村容村貌", "work_relief": "以工代赈", "finance": "金融扶贫",
})

_TYPES = (
    ProjectType("industry.planting", "种植业", "industry", True),
    ProjectType("industry.livestock", "养殖业", "industry", True),
    ProjectType("industry.forestry", "林果业", "industry", True),
    ProjectType("industry.processing", "农产品加工", "industry", True),
    ProjectType("industry.handicraft", "手工业", "industry", True),
    ProjectType("industry.solar", "光伏扶贫", "industry", True),
    ProjectType("industry.tourism", "乡村旅游", "industry", True),
    ProjectType("industry.ecommerce", "电商扶贫", "industry", True),
    ProjectType("industry.asset_income", "资产收益扶贫", "industry", True),
    ProjectType("employment.jobs", "就业扶贫(扶贫车间、公益岗位)", "employment", False),
    ProjectType("employment.training", "技能培训", "employment", False),
    ProjectType("relocation", "易地扶贫搬迁", "relocation", True),
    ProjectType("education", "教育扶贫", "education", False),
    ProjectType("health", "健康扶贫", "health", False),
    ProjectType("ecology", "生态扶贫(生态护林员等)", "ecology", False),
    ProjectType("infrastructure.road", "农村道路", "infrastructure", True),
    ProjectType("infrastructure.drinking_water", "农村安全饮水", "infrastructure", True),
    ProjectType("infrastructure.power", "农村电力", "infrastructure", True),
    ProjectType("infrastructure.broadband", "宽带网络", "infrastructure", True),
    ProjectType("housing", "农村危房改造", "housing", False),
    ProjectType("environment", "村容村貌(人居环境整治)", "environment", True),
    ProjectType("work_relief", "以工代赈", "work_relief", True),
    ProjectType("interest_subsidy", "扶贫贷款贴息", "finance", False),
)
TYPES = MappingProxyType({t.code: t for t in _TYPES})

#: 带贫益贫机制 (DOMAIN.md §5): how the project drives poor households.
MECHANISMS = MappingProxyType({
    "order": "订单帮扶", "equity_dividend": "入股分红", "employment": "务工就业", "asset_income": "资产收益",
    "land_transfer": "土地流转", "direct_support": "到户扶持", "other": "其他",
})

#: What a household receives from a project (the registry's 享受扶持情况; contract of
#: ``projects.benefit.recorded``).
BENEFIT_KINDS = MappingProxyType({"wages": "务工工资", "dividend": "分红", "subsidy": "补助", "in_kind": "实物"})

#: 绩效目标 indicator kinds (产出 / 效益 / 满意度, the usual performance-target table).
TARGET_KINDS = MappingProxyType({"output": "产出指标", "benefit": "效益指标", "satisfaction": "满意度指标"})

#: 资产 kinds at handover (seed 002 L762: 公益性项目 … 生产性设施 归村集体所有).
ASSET_KINDS = MappingProxyType({"public_good": "公益性资产", "productive": "经营性资产"})
#: Who runs a handed-over asset (资产运营管护主体).
OPERATOR_KINDS = MappingProxyType({"village_collective": "村集体经济组织", "cooperative": "农民专业合作社",
                                   "enterprise": "企业", "other": "其他"})
ASSET_OWNERS = MappingProxyType({"village_collective": "村集体", "households": "折股量化到户"})


def catalogue() -> dict:
    """The whole catalogue, for clients that build forms from it."""
    return {
        "types": [t.as_dict() for t in _TYPES],
        "categories": dict(CATEGORIES),
        "mechanisms": dict(MECHANISMS),
        "benefit_kinds": dict(BENEFIT_KINDS),
        "target_kinds": dict(TARGET_KINDS),
        "asset_kinds": dict(ASSET_KINDS),
        "asset_owners": dict(ASSET_OWNERS),
    }
