"""Code lists of the household registry (建档立卡), each an Enum with Chinese labels.

What: the closed vocabularies a household record uses — poverty attribute, causes of poverty
(致贫原因), a person's labour capacity and relation to the head, assistance pathways, removal
reasons of the annual review, monitoring categories and discovery routes, and the exit checks of
两不愁三保障 / 四具有. Every member is a ``str`` (its code, stored in rows and events) and has a
``.label`` (Chinese, shown to people and printed on announcements).

Why: codes, never free text, so that statistics, the auditor's rebuild and other departments'
REST clients agree on what a value means. :func:`parse` turns an incoming value (code, Chinese
label or member) into a member, with a bilingual error naming the allowed codes.

Sources: DOMAIN.md §3 (household, person, assistance measures, lifecycle); the national 致贫原因
list as given there; the exit checks exactly as in ``shared/policy/rules.yaml``
``household.exit.required_checks`` (seed 003 L187, L197; seed 002 L45). Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

__all__ = [
    "CODE_LISTS",
    "Cause",
    "CodeEnum",
    "DiscoveryRoute",
    "ExitCheck",
    "LabourCapacity",
    "MonitoringCategory",
    "Pathway",
    "PovertyAttribute",
    "Relation",
    "RemovalReason",
    "code_list",
    "parse",
]


class CodeEnum(StrEnum):
    """Base of the registry's code lists: the value is the code, ``.label`` the Chinese label."""

    label: str

    def __new__(cls, code: str, label: str) -> CodeEnum:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member

    @property
    def code(self) -> str:
        return self.value

    @property
    def label_zh(self) -> str:
        """Alias of ``.label`` (the naming ``shared.divisions.Level`` uses)."""
        return self.label


class PovertyAttribute(CodeEnum):
    """贫困户属性 (DOMAIN.md §3)."""

    GENERAL = "general", "一般贫困户"
    DIBAO = "dibao", "低保贫困户"
    TEKUN = "tekun", "特困供养贫困户(五保)"


class Cause(CodeEnum):
    """致贫原因, the national code list (DOMAIN.md §3); a household has a main and a secondary one."""

    ILLNESS = "illness", "因病"
    DISABILITY = "disability", "因残"
    SCHOOLING = "schooling", "因学"
    DISASTER = "disaster", "因灾"
    LACK_LAND = "lack_land", "缺土地"
    LACK_WATER = "lack_water", "缺水"
    LACK_SKILLS = "lack_skills", "缺技术"
    LACK_LABOUR = "lack_labour", "缺劳力"
    LACK_FUNDS = "lack_funds", "缺资金"
    POOR_TRANSPORT = "poor_transport", "交通条件落后"
    LACK_MOTIVATION = "lack_motivation", "自身发展动力不足"
    OTHER = "other", "其他"


class LabourCapacity(CodeEnum):
    """A person's labour capacity (劳动能力). The last two count as "without labour capacity"."""

    NORMAL_LABOUR = "normal_labour", "普通劳动力"
    SKILLED_LABOUR = "skilled_labour", "技能劳动力"
    WEAK_LABOUR = "weak_labour", "弱劳动力或半劳动力"
    NO_LABOUR = "no_labour", "丧失劳动力"
    NO_LABOUR_ABILITY = "no_labour_ability", "无劳动能力"

    @property
    def has_labour(self) -> bool:
        """True for normal, skilled and weak/half labour; False for 丧失劳动力 and 无劳动能力.

        A household "without labour capacity" (无劳动能力户, the 兜底 group of seed 003 L193) is
        one where no member has labour.
        """
        return self not in (LabourCapacity.NO_LABOUR, LabourCapacity.NO_LABOUR_ABILITY)


class Relation(CodeEnum):
    """与户主关系 (relation to the head of household)."""

    HEAD = "head", "户主"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    GRANDCHILD = "grandchild", "孙子女"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他"


class Pathway(CodeEnum):
    """Assistance pathway of a measure (措施到户): the national 五个一批 and the plans' additions.

    五个一批 = industry, relocation, ecological, education, social_security; the plans add
    employment, health, asset_income and finance (扶贫小额信贷) (DOMAIN.md §3).
    """

    INDUSTRY = "industry", "发展生产"
    RELOCATION = "relocation", "易地搬迁"
    ECOLOGICAL = "ecological", "生态补偿"
    EDUCATION = "education", "发展教育"
    SOCIAL_SECURITY = "social_security", "社会保障兜底"
    EMPLOYMENT = "employment", "转移就业"
    HEALTH = "health", "健康扶贫"
    ASSET_INCOME = "asset_income", "资产收益"
    FINANCE = "finance", "金融扶贫(小额信贷)"

    @property
    def five_batches(self) -> bool:
        """Whether the pathway is one of the national 五个一批."""
        return self in _FIVE_BATCHES


_FIVE_BATCHES = frozenset(
    {Pathway.INDUSTRY, Pathway.RELOCATION, Pathway.ECOLOGICAL, Pathway.EDUCATION, Pathway.SOCIAL_SECURITY}
)


class RemovalReason(CodeEnum):
    """Why the annual review (动态管理, seed 002 L788) takes a household off the roll (清退/销户)."""

    WRONGLY_INCLUDED = "wrongly_included", "识别不准清退"
    DECEASED = "deceased", "死亡"
    MOVED_AWAY = "moved_away", "迁出"
    DUPLICATE = "duplicate", "重复"
    HOUSEHOLD_MERGED = "household_merged", "合户"
    OTHER = "other", "其他"


class MonitoringCategory(CodeEnum):
    """防止返贫监测对象 (DOMAIN.md §3 item 6; rules.yaml ``monitoring.categories``)."""

    UNSTABLE_EXITED = "unstable_exited", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    SUDDEN_HARDSHIP = "sudden_hardship", "突发严重困难户"


class DiscoveryRoute(CodeEnum):
    """How a monitored (or newly identified) household was found (DOMAIN.md §3 item 6)."""

    SELF_DECLARATION = "self_declaration", "农户自主申报"
    CADRE_VISIT = "cadre_visit", "干部走访排查"
    DEPARTMENT_DATA = "department_data", "部门筛查预警"


class ExitCheck(CodeEnum):
    """The non-income exit checks, codes and labels exactly as rules.yaml
    ``household.exit.required_checks``: 两不愁 (food, clothing), 三保障 (education, medical care,
    housing) everywhere (seed 002 L45; seed 003 L197) and, in Xinjiang, 四具有 (seed 003 L187).
    Which of them a household must meet is policy (the rule's ``checks`` list), not this enum.
    """

    FOOD = "food", "不愁吃"
    CLOTHING = "clothing", "不愁穿"
    COMPULSORY_EDUCATION = "compulsory_education", "义务教育有保障"
    BASIC_MEDICAL_CARE = "basic_medical_care", "基本医疗有保障"
    HOUSING_SAFETY = "housing_safety", "住房安全有保障"
    SKILLS = "skills", "具有技能"
    EMPLOYMENT = "employment", "具有就业"
    SUSTAINED_INCOME = "sustained_income", "具有持续收入"
    CULTURAL_LIFE = "cultural_life", "具有良好文化生活"

    @property
    def group(self) -> str:
        """两不愁, 三保障 or 四具有."""
        if self in (ExitCheck.FOOD, ExitCheck.CLOTHING):
            return "两不愁"
        if self in (ExitCheck.COMPULSORY_EDUCATION, ExitCheck.BASIC_MEDICAL_CARE, ExitCheck.HOUSING_SAFETY):
            return "三保障"
        return "四具有"


CODE_LISTS: dict[str, type[CodeEnum]] = {
    "poverty_attribute": PovertyAttribute,
    "cause": Cause,
    "labour_capacity": LabourCapacity,
    "relation": Relation,
    "pathway": Pathway,
    "removal_reason": RemovalReason,
    "monitoring_category": MonitoringCategory,
    "discovery_route": DiscoveryRoute,
    "exit_check": ExitCheck,
}
"""Every code list by a stable name, e.g. for a ``GET /codes`` endpoint."""

for _enum in CODE_LISTS.values():  # labels must be unique within a list: parse() accepts them
    assert len({m.label for m in _enum}) == len(_enum), _enum.__name__

E = TypeVar("E", bound=CodeEnum)


def parse(enum_cls: type[E], value: object) -> E:
    """The member of ``enum_cls`` that ``value`` names: a member, its code or its Chinese label.

    Raises ``ValueError`` with a bilingual message listing the allowed codes (and labels).
    """
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        try:
            return enum_cls(value)  # type: ignore[call-arg]  # the Enum lookup by value, not CodeEnum.__new__(code, label)
        except ValueError:
            pass
        for member in enum_cls:
            if member.label == value:
                return member
    allowed = ", ".join(f"{m.value} ({m.label})" for m in enum_cls)
    raise ValueError(
        f"无效代码 {value!r}，{enum_cls.__name__} 允许的代码为：{allowed} "
        f"(invalid code {value!r} for {enum_cls.__name__}; allowed codes: "
        f"{', '.join(m.value for m in enum_cls)})"
    )


def code_list(enum_cls: type[CodeEnum]) -> list[dict[str, str]]:
    """``[{"code": ..., "label": ...}, ...]`` in declaration order (JSON-ready)."""
    return [{"code": m.value, "label": m.label} for m in enum_cls]
