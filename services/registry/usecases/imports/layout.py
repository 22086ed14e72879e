"""The import's file layout: the columns (Chinese header, key, aliases, the codes a cell may hold),
header matching, and the layout as documentation. The code lists are derived from the
vocabularies of ``domain/codes.py`` (each code, its Chinese label and the spreadsheet variants).
Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from services.registry.domain.codes import SCHOOL_STAGE_PREFIXES, VOCABULARIES

#: Bounds of 识别年度 / 脱贫年度 (the upper bound is the clock's current year).
FIRST_YEAR = 2000


# -- code lists (cell → code), one per column ---------------------------------------------------
# Every spelling comes from the vocabularies of domain/codes.py (code, Chinese label, variants).

def _spellings(name: str) -> dict[str, str]:
    """The cells accepted for vocabulary ``name`` → code; the empty code (not a student) is the empty cell."""
    return {k: v for k, v in VOCABULARIES[name].spellings().items() if k}


POVERTY_ATTRIBUTE_CODES_ALL = _spellings("poverty_attribute")
CAUSE_CODES_ALL = _spellings("cause")
SCHOOL_PREFIXES = SCHOOL_STAGE_PREFIXES


# -- the layout --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    level: str  # household | person
    required: bool
    description: str
    aliases: tuple[str, ...] = ()
    codes: Mapping[str, str] | None = None


LAYOUT: tuple[Column, ...] = (
    Column("household_number", "户编号", "household", True,
           "household number; the rows of one household share it", ("户号", "家庭编号")),
    Column("division", "行政区划代码", "household", True,
           "12-digit village code (统计用区划代码), in the divisions table and the caller's jurisdiction",
           ("区划代码", "行政区划", "村代码")),
    Column("name", "姓名", "person", True, "the person's name"),
    Column("id_number", "证件号码", "person", True,
           "18-digit 居民身份证号码 (GB 11643 check digit); sex and birth date are taken from it",
           ("身份证号码", "身份证号", "公民身份号码")),
    Column("relation", "与户主关系", "person", True,
           "户主/配偶/子女/父母/孙子女/兄弟姐妹/其他 or head/spouse/child/parent/grandchild/sibling/other; "
           "exactly one 户主 per household", ("与户主的关系", "关系"), _spellings("relation")),
    Column("ethnicity", "民族", "person", False, "free text, e.g. 汉族, 维吾尔族 (at most 20 characters)"),
    Column("education", "文化程度", "person", False,
           "学龄前儿童/文盲或半文盲/小学/初中/高中/中专/大专/本科/研究生 (or their codes)",
           (), _spellings("education")),
    Column("school_stage", "在校生状况", "person", False,
           "非在校生 (empty) or 学前教育/小学/初中/高中/中职/高职/本科/研究生; grade labels such as 小学三年级 accepted",
           ("在校生情况",), _spellings("school_stage")),
    Column("health", "健康状况", "person", False, "健康/长期慢性病/患有大病/残疾 (healthy/chronic/major_illness/disabled)",
           (), _spellings("health")),
    Column("labour_capacity", "劳动技能", "person", True,
           "普通劳动力/技能劳动力/弱劳动力或半劳动力/丧失劳动力/无劳动能力 "
           "(normal_labour/skilled_labour/weak_labour/no_labour/no_labour_ability)",
           ("劳动能力",), _spellings("labour_capacity")),
    Column("poverty_attribute", "贫困户属性", "household", True,
           "一般贫困户/低保贫困户/特困供养贫困户 (general/dibao/tekun)", ("贫困属性",),
           POVERTY_ATTRIBUTE_CODES_ALL),
    Column("main_cause", "主要致贫原因", "household", True,
           "因病 因残 因学 因灾 缺土地 缺水 缺技术 缺劳力 缺资金 交通条件落后 自身发展动力不足 其他 (or codes)",
           ("致贫原因",), CAUSE_CODES_ALL),
    Column("registered_year", "识别年度", "household", True,
           f"year of registration (建档立卡), {FIRST_YEAR}..this year; registered on 12-31 of it",
           ("建档年度", "识别年份")),
    Column("exit_year", "脱贫年度", "household", False,
           "year of exit, not before 识别年度; the household is imported as exited on 12-31 of it",
           ("脱贫年份",)),
    Column("net_income", "人均纯收入", "household", False,
           "per-capita net income of 识别年度 in yuan (\"3200.50\"; at most two decimals)",
           ("家庭人均纯收入",)),
)
COLUMNS_BY_KEY: dict[str, Column] = {c.key: c for c in LAYOUT}
ORDER = {c.key: i for i, c in enumerate(LAYOUT)}
_HEADER_NOISE = re.compile(r"[\s*＊]|[（(][^）)]*[）)]")


def norm_header(value: str) -> str:
    return _HEADER_NOISE.sub("", value).lower()


HEADERS: dict[str, str] = {}
for _c in LAYOUT:
    for _name in (_c.header, _c.key, *_c.aliases):
        HEADERS[norm_header(_name)] = _c.key


def layout_markdown() -> str:
    """The layout as a Markdown table (for docs and the API description)."""
    lines = ["| 列 (header) | key | level | required | content |", "|---|---|---|---|---|"]
    for c in LAYOUT:
        lines.append(f"| {c.header} | `{c.key}` | {c.level} | {'yes' if c.required else 'no'} | {c.description} |")
    return "\n".join(lines)
