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

from shared.vocabulary import Code, Vocabulary

__all__ = [
    "CODE_LISTS",
    "EDUCATION",
    "HEALTH",
    "INCOME_COMPONENT",
    "LEAVE_REASON",
    "SCHOOL_STAGE",
    "SCHOOL_STAGE_PREFIXES",
    "STATUS",
    "VOCABULARIES",
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
    "vocabulary_of",
]


class CodeEnum(StrEnum):
    """Base of the registry's code lists: the value is the code, ``.label`` the Chinese label,
    ``.en`` the English one and ``.spellings`` the other ways spreadsheets write it (accepted by the
    import only). :func:`vocabulary_of` gives the list as a ``shared.vocabulary.Vocabulary``."""

    label: str
    en: str
    spellings: tuple[str, ...]

    def __new__(cls, code: str, label: str, en: str, *spellings: str) -> CodeEnum:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label, member.en, member.spellings = label, en, spellings
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

    GENERAL = "general", "一般贫困户", "general poor household", "一般户"
    DIBAO = "dibao", "低保贫困户", "minimum-living-allowance (dibao) poor household", "低保户"
    TEKUN = ("tekun", "特困供养贫困户(五保)", "extreme-poverty support (wubao) household", "特困供养贫困户",
             "特困供养贫困户（五保）", "五保贫困户", "五保户")


class Cause(CodeEnum):
    """致贫原因, the national code list (DOMAIN.md §3); a household has a main and a secondary one."""

    ILLNESS = "illness", "因病", "illness"
    DISABILITY = "disability", "因残", "disability"
    SCHOOLING = "schooling", "因学", "cost of schooling"
    DISASTER = "disaster", "因灾", "disaster"
    LACK_LAND = "lack_land", "缺土地", "lack of land"
    LACK_WATER = "lack_water", "缺水", "lack of water"
    LACK_SKILLS = "lack_skills", "缺技术", "lack of skills"
    LACK_LABOUR = "lack_labour", "缺劳力", "lack of labour"
    LACK_FUNDS = "lack_funds", "缺资金", "lack of funds"
    POOR_TRANSPORT = "poor_transport", "交通条件落后", "poor transport"
    LACK_MOTIVATION = "lack_motivation", "自身发展动力不足", "lack of motivation"
    OTHER = "other", "其他", "other"


class LabourCapacity(CodeEnum):
    """A person's labour capacity (劳动能力). The last two count as "without labour capacity"."""

    NORMAL_LABOUR = "normal_labour", "普通劳动力", "ordinary labour"
    SKILLED_LABOUR = "skilled_labour", "技能劳动力", "skilled labour"
    WEAK_LABOUR = "weak_labour", "弱劳动力或半劳动力", "weak or half labour", "弱劳动力", "半劳动力"
    NO_LABOUR = "no_labour", "丧失劳动力", "lost labour capacity"
    NO_LABOUR_ABILITY = "no_labour_ability", "无劳动能力", "no labour capacity", "无劳动力"

    @property
    def has_labour(self) -> bool:
        """True for normal, skilled and weak/half labour; False for 丧失劳动力 and 无劳动能力.

        A household "without labour capacity" (无劳动能力户, the 兜底 group of seed 003 L193) is
        one where no member has labour.
        """
        return self not in (LabourCapacity.NO_LABOUR, LabourCapacity.NO_LABOUR_ABILITY)


class Relation(CodeEnum):
    """与户主关系 (relation to the head of household)."""

    HEAD = "head", "户主", "head of household", "本人"
    SPOUSE = "spouse", "配偶", "spouse", "妻", "夫", "之妻", "之夫"
    CHILD = "child", "子女", "child", "子", "女", "之子", "之女", "儿子", "女儿"
    PARENT = "parent", "父母", "parent", "父亲", "母亲", "之父", "之母"
    GRANDCHILD = ("grandchild", "孙子女", "grandchild", "孙子", "孙女", "之孙子", "之孙女", "外孙子", "外孙女")
    SIBLING = "sibling", "兄弟姐妹", "sibling", "兄弟", "姐妹"
    OTHER = "other", "其他", "other", "儿媳", "女婿", "之儿媳", "之女婿"


class Pathway(CodeEnum):
    """Assistance pathway of a measure (措施到户): the national 五个一批 and the plans' additions.

    五个一批 = industry, relocation, ecological, education, social_security; the plans add
    employment, health, asset_income and finance (扶贫小额信贷) (DOMAIN.md §3).
    """

    INDUSTRY = "industry", "发展生产", "developing production"
    RELOCATION = "relocation", "易地搬迁", "relocation"
    ECOLOGICAL = "ecological", "生态补偿", "ecological compensation"
    EDUCATION = "education", "发展教育", "education"
    SOCIAL_SECURITY = "social_security", "社会保障兜底", "social security safety net"
    EMPLOYMENT = "employment", "转移就业", "employment transfer"
    HEALTH = "health", "健康扶贫", "health assistance"
    ASSET_INCOME = "asset_income", "资产收益", "asset income"
    FINANCE = "finance", "金融扶贫(小额信贷)", "finance (poverty micro-credit)"

    @property
    def five_batches(self) -> bool:
        """Whether the pathway is one of the national 五个一批."""
        return self in _FIVE_BATCHES


_FIVE_BATCHES = frozenset(
    {Pathway.INDUSTRY, Pathway.RELOCATION, Pathway.ECOLOGICAL, Pathway.EDUCATION, Pathway.SOCIAL_SECURITY}
)


class RemovalReason(CodeEnum):
    """Why the annual review (动态管理, seed 002 L788) takes a household off the roll (清退/销户)."""

    WRONGLY_INCLUDED = "wrongly_included", "识别不准清退", "wrongly identified"
    DECEASED = "deceased", "死亡", "deceased"
    MOVED_AWAY = "moved_away", "迁出", "moved away"
    DUPLICATE = "duplicate", "重复", "duplicate record"
    HOUSEHOLD_MERGED = "household_merged", "合户", "merged into another household"
    OTHER = "other", "其他", "other"


class MonitoringCategory(CodeEnum):
    """防止返贫监测对象 (DOMAIN.md §3 item 6; rules.yaml ``monitoring.categories``)."""

    UNSTABLE_EXITED = "unstable_exited", "脱贫不稳定户", "exited but unstable"
    MARGINAL = "marginal", "边缘易致贫户", "marginal, at risk of poverty"
    SUDDEN_HARDSHIP = "sudden_hardship", "突发严重困难户", "sudden severe hardship"


class DiscoveryRoute(CodeEnum):
    """How a monitored (or newly identified) household was found (DOMAIN.md §3 item 6)."""

    SELF_DECLARATION = "self_declaration", "农户自主申报", "self-declaration"
    CADRE_VISIT = "cadre_visit", "干部走访排查", "cadre visit"
    DEPARTMENT_DATA = "department_data", "部门筛查预警", "department data alert"


class ExitCheck(CodeEnum):
    """The non-income exit checks, codes and labels exactly as rules.yaml
    ``household.exit.required_checks``: 两不愁 (food, clothing), 三保障 (education, medical care,
    housing) everywhere (seed 002 L45; seed 003 L197) and, in Xinjiang, 四具有 (seed 003 L187).
    Which of them a household must meet is policy (the rule's ``checks`` list), not this enum.
    """

    FOOD = "food", "不愁吃", "enough food"
    CLOTHING = "clothing", "不愁穿", "enough clothing"
    COMPULSORY_EDUCATION = "compulsory_education", "义务教育有保障", "compulsory education assured"
    BASIC_MEDICAL_CARE = "basic_medical_care", "基本医疗有保障", "basic medical care assured"
    HOUSING_SAFETY = "housing_safety", "住房安全有保障", "safe housing assured"
    SKILLS = "skills", "具有技能", "has skills"
    EMPLOYMENT = "employment", "具有就业", "has employment"
    SUSTAINED_INCOME = "sustained_income", "具有持续收入", "has a sustained income"
    CULTURAL_LIFE = "cultural_life", "具有良好文化生活", "has a good cultural life"

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

_LIST_NAMES = {  # the name of each list itself (zh, en)
    PovertyAttribute: ("贫困户属性", "poverty attribute"), Cause: ("致贫原因", "cause of poverty"),
    LabourCapacity: ("劳动技能", "labour capacity"), Relation: ("与户主关系", "relation to the head"),
    Pathway: ("帮扶措施类型", "assistance pathway"), RemovalReason: ("清退原因", "removal reason"),
    MonitoringCategory: ("监测对象类别", "monitoring category"), DiscoveryRoute: ("发现途径", "discovery route"),
    ExitCheck: ("退出指标", "exit check"),
}


def vocabulary_of(enum_cls: type[CodeEnum]) -> Vocabulary:
    """The code list ``enum_cls`` as a :class:`shared.vocabulary.Vocabulary` (codes, zh, en, spellings)."""
    name = next(key for key, value in CODE_LISTS.items() if value is enum_cls)
    zh, en = _LIST_NAMES[enum_cls]
    return Vocabulary(name, zh, en, tuple(Code(m.value, m.label, m.en, m.spellings) for m in enum_cls))


#: 健康状况 of a person.
HEALTH = Vocabulary.of("health", "健康状况", "health", [
    ("healthy", "健康", "healthy"),
    ("chronic", "长期慢性病", "chronic illness", ("慢性病",)),
    ("major_illness", "患有大病", "major illness", ("大病",)),
    ("disabled", "残疾", "disabled"),
])
#: 文化程度 of a person (the import's list; the person API takes free text up to 30 characters).
EDUCATION = Vocabulary.of("education", "文化程度", "education", [
    ("preschool", "学龄前儿童", "preschool child", ("学龄前",)),
    ("illiterate", "文盲或半文盲", "illiterate or semi-literate", ("文盲", "半文盲")),
    ("primary", "小学", "primary school"),
    ("junior_secondary", "初中", "junior secondary school"),
    ("senior_secondary", "高中", "senior secondary school"),
    ("secondary_vocational", "中专", "secondary vocational school", ("中职",)),
    ("college", "大专", "college", ("大专及以上",)),
    ("bachelor", "本科", "bachelor", ("本科及以上",)),
    ("postgraduate", "研究生", "postgraduate"),
])
#: 在校生状况 of a person; the code ``""`` = not a student (stored as NULL). Grade labels such as
#: 小学三年级 are read by the import through :data:`SCHOOL_STAGE_PREFIXES`.
SCHOOL_STAGE = Vocabulary.of("school_stage", "在校生状况", "school stage", [
    ("", "非在校生", "not a student", ("不在校", "none")),
    ("preschool", "学前教育", "preschool", ("学前",)),
    ("primary", "小学", "primary school", tuple(f"{n}年级" for n in "一二三四五六")),
    ("junior_secondary", "初中", "junior secondary school", tuple(f"{n}年级" for n in "七八九")),
    ("senior_secondary", "高中", "senior secondary school"),
    ("secondary_vocational", "中职", "secondary vocational school", ("中专",)),
    ("higher_vocational", "高职", "higher vocational college", ("高职高专", "大专")),
    ("undergraduate", "本科", "undergraduate"),
    ("postgraduate", "研究生", "postgraduate", ("硕士", "博士")),
])
#: A cell starting with one of these names the school stage (小学三年级, 初中一年级 …).
SCHOOL_STAGE_PREFIXES = (("小学", "primary"), ("初中", "junior_secondary"), ("高中", "senior_secondary"),
                         ("中职", "secondary_vocational"), ("高职", "higher_vocational"),
                         ("本科", "undergraduate"), ("研究生", "postgraduate"))
#: Components of a household's income (收入构成).
INCOME_COMPONENT = Vocabulary.of("income_component", "收入构成", "income component", [
    ("wage", "工资性收入", "wages"),
    ("business", "生产经营性收入", "business income"),
    ("property", "财产性收入", "property income"),
    ("transfer", "转移性收入", "transfer income"),
])
#: Why a member leaves a household (死亡、迁出、婚出 …).
LEAVE_REASON = Vocabulary.of("leave_reason", "成员减少原因", "reason a member leaves", [
    ("deceased", "死亡", "deceased"),
    ("moved_away", "迁出", "moved away"),
    ("married_out", "婚出", "married out"),
    ("other", "其他", "other"),
])
#: A household's status in the identification and exit procedures (``domain/workflow.py``).
STATUS = Vocabulary.of("status", "户状态", "household status", [
    ("proposed", "已申请", "proposed"),
    ("appraised", "村民主评议通过", "appraised by the village"),
    ("village_notice", "村内公示中", "under village notice"),
    ("township_reviewed", "乡镇审核通过", "reviewed by the township"),
    ("township_notice", "乡镇公示中", "under township notice"),
    ("county_approved", "县级审定通过", "approved by the county"),
    ("county_notice", "县级公告中", "under county announcement"),
    ("registered", "已建档立卡", "registered"),
    ("rejected", "未通过识别", "not identified"),
    ("exit_nominated", "拟退出", "nominated for exit"),
    ("exit_appraised", "退出村评议通过", "exit appraised by the village"),
    ("exit_village_notice", "退出村内公示中", "exit under village notice"),
    ("exit_township_verified", "乡镇核实通过", "exit verified by the township"),
    ("exit_township_notice", "退出乡镇公示中", "exit under township notice"),
    ("exit_county_reviewed", "县复核通过", "exit reviewed by the county"),
    ("exit_county_approved", "县审批通过", "exit approved by the county"),
    ("exit_announced", "退出村内公告中", "exit announced in the village"),
    ("exited", "已脱贫", "exited poverty"),
    ("removed", "已清退", "removed"),
])

VOCABULARIES: dict[str, Vocabulary] = {
    **{name: vocabulary_of(enum_cls) for name, enum_cls in CODE_LISTS.items()},
    **{v.name: v for v in (HEALTH, EDUCATION, SCHOOL_STAGE, INCOME_COMPONENT, LEAVE_REASON, STATUS)},
}
"""Every registry vocabulary by its stable name: the API enums, the import's accepted spellings and
the catalogue labels all derive from these (issue 17)."""

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
