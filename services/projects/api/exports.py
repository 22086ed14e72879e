"""The project library as a spreadsheet (``shared.web.export``): 扶贫项目库."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.web.export import Column, Export

PROJECTS = Export("扶贫项目库", rows="items", paginated=True, columns=(
    Column("code", "项目编号"),
    Column("name", "项目名称"),
    Column("type_label", "项目类型"),
    Column("division", "区划代码"),
    Column("year", "年度", "int"),
    Column("stage_label", "阶段"),
    Column("implementing_unit", "实施单位"),
    Column("budget", "预算（元）", "yuan"),
    Column("funding.committed", "已安排资金（元）", "yuan"),
    Column("funding.paid", "已支付（元）", "yuan"),
    Column("funding.stranded", "滞留（元）", "yuan"),
    Column("funding.remaining", "可用（元）", "yuan"),
    Column("progress_percent", "进度（%）", "percent"),
    Column("beneficiaries.households", "带动户数", "int"),
    Column("beneficiaries.persons", "带动人数", "int"),
))


def _figure_rows(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """By type, then by stage, then the total: one row each."""
    return [*({**b, "group": "按类型", "code": code} for code, b in (answer.get("by_type") or {}).items()),
            *({**b, "group": "按阶段", "code": code} for code, b in (answer.get("by_stage") or {}).items()),
            {**(answer.get("total") or {}), "group": "合计", "code": "", "label": "合计"}]


#: 项目统计: projects, budget, people driven and money by type and by stage, and the total
FIGURES = Export("项目统计", rows=_figure_rows, columns=(
    Column("group", "分组"),
    Column("code", "代码"),
    Column("label", "名称"),
    Column("projects", "项目数", "int"),
    Column("budget", "预算（元）", "yuan"),
    Column("households", "带动户数", "int"),
    Column("persons", "带动人数", "int"),
    Column("committed", "已安排资金（元）", "yuan"),
    Column("paid", "已支付（元）", "yuan"),
    Column("stranded", "滞留（元）", "yuan"),
))
