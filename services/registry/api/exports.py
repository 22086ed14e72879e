"""The registry's lists as spreadsheets (``shared.web.export``): the households roster (建档立卡花名册)."""

from __future__ import annotations

from typing import Any, Mapping

from services.registry.domain import codes, workflow
from shared.web.export import Column, Export, labels


def _code_list(name: str):
    return labels({c.code: c.label for c in codes.CODE_LISTS[name]})


def _head(household: Mapping[str, Any]) -> Mapping[str, Any]:
    members = household.get("members") or []
    return next((m for m in members if m.get("relation") == codes.Relation.HEAD), members[0] if members else {})


def _active(household: Mapping[str, Any]) -> int:
    return sum(1 for m in household.get("members") or [] if m.get("active", True))


#: one row per household, the head's ID number as the caller may read it in JSON (masked for a department)
HOUSEHOLDS = Export("贫困户花名册", rows="items", paginated=True, columns=(
    Column("number", "户编号"),
    Column("division", "区划代码"),
    Column(lambda h: _head(h).get("name"), "户主姓名"),
    Column(lambda h: _head(h).get("id_number"), "户主身份证号"),
    Column(_active, "家庭人口", "int"),
    Column("status", "状态", label=labels(workflow.STATUS_LABELS)),
    Column("poverty_attribute", "贫困户属性", label=_code_list("poverty_attribute")),
    Column("main_cause", "主要致贫原因", label=_code_list("cause")),
    Column("secondary_cause", "次要致贫原因", label=_code_list("cause")),
    Column("registered_year", "识别年度", "int"),
    Column("registered_on", "登记日期", "date"),
    Column("exited_on", "脱贫日期", "date"),
    Column("helper.name", "帮扶责任人"),
))


def _figure_rows(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The division's own figures first (范围 全域), then each township's (乡镇)."""
    return [{**answer, "scope": "全域"}, *({**t, "scope": "乡镇"} for t in (answer.get("by_township") or {}).values())]


def _exits(figures: Mapping[str, Any], unit: str) -> int:
    return sum(count[unit] for count in (figures.get("exits") or {}).values())


#: 贫困人口统计: one row for the division, one per township below it
STATISTICS = Export("贫困人口统计", rows=_figure_rows, columns=(
    Column("scope", "范围"),
    Column("division", "区划代码"),
    Column("year", "年度", "int"),
    Column("registered.households", "建档立卡户数", "int"),
    Column("registered.persons", "建档立卡人数", "int"),
    Column("with_labour.households", "有劳动能力户数", "int"),
    Column("with_labour.persons", "有劳动能力人数", "int"),
    Column("without_labour.households", "无劳动能力户数", "int"),
    Column("without_labour.persons", "无劳动能力人数", "int"),
    Column(lambda f: _exits(f, "households"), "累计脱贫户数", "int"),
    Column(lambda f: _exits(f, "persons"), "累计脱贫人数", "int"),
    Column("remaining.households", "剩余贫困户数", "int"),
    Column("remaining.persons", "剩余贫困人数", "int"),
    Column("returned.households", "返贫户数", "int"),
    Column("returned.persons", "返贫人数", "int"),
    Column("rural_population", "农村人口", "int"),
    Column("poverty_rate_percent", "贫困发生率（%）", "percent"),
    Column(lambda f: len(f.get("lacking_helper") or []), "无帮扶责任人户数", "int"),
    Column(lambda f: len(f.get("lacking_measure") or []), "无帮扶措施户数", "int"),
))
