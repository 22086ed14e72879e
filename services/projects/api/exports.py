"""The project library as a spreadsheet (``shared.web.export``): 扶贫项目库."""

from __future__ import annotations

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
