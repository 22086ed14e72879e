"""The project library as a spreadsheet (``shared.web.export``): 扶贫项目库."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.projects.domain.catalogue import ASSET_OWNERS, OPERATOR_KINDS
from services.projects.domain.pairing import COMMITMENTS
from shared.money import format_fen, parse_yuan
from shared.web.export import Column, Export, labels

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


def _distributed(asset: Mapping[str, Any]) -> str:
    return format_fen(sum(parse_yuan(d["amount"]) for d in asset.get("distributions") or []))


#: 扶贫资产: one row per asset, its shareholders and income distributions summed
ASSETS = Export("扶贫资产", rows="items", columns=(
    Column("id", "资产编号"),
    Column("name", "资产名称"),
    Column("project", "项目编号"),
    Column("division", "区划代码"),
    Column("kind_label", "资产类型"),
    Column("owner", "所有权", label=labels(ASSET_OWNERS)),
    Column("operator.name", "运营管护主体"),
    Column("operator.kind", "主体类型", label=labels(OPERATOR_KINDS)),
    Column("book_value", "账面价值（元）", "yuan"),
    Column("handed_over_on", "移交日期", "date"),
    Column(lambda a: len(a.get("shares") or []), "股东数", "int"),
    Column(lambda a: len(a.get("distributions") or []), "收益分配次数", "int"),
    Column(_distributed, "已分配收益（元）", "yuan"),
))

#: 百企千村 enterprises
ENTERPRISES = Export("百企千村企业", rows="items", columns=(
    Column("name", "企业名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("type_label", "企业类型"),
    Column("division", "登记区划代码"),
))


def _pairing_years(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """One row per pairing and year of its commitments (a pairing without any: one row)."""
    return [{**pairing, "year": year, "commitment": commitment}
            for pairing in answer.get("items") or []
            for year, commitment in (sorted((pairing.get("commitments") or {}).items()) or [(None, {})])]


#: 百企千村结对: the quantified commitments of each pairing, a row per year (headers from the domain's table)
PAIRINGS = Export("百企千村结对", rows=_pairing_years, columns=(
    Column("id", "结对编号"),
    Column("enterprise.name", "企业名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("division", "县区划代码"),
    Column("villages", "结对村"),
    Column("first_year", "起始年度", "int"),
    Column("last_year", "结束年度", "int"),
    Column("agreed_on", "协议日期", "date"),
    Column("year", "承诺年度", "int"),
    *(Column(f"commitment.{key}", f"{label}（{unit}）", "yuan" if key.endswith("_fen") else "int")
      for key, (label, unit) in COMMITMENTS.items()),
    Column("projects", "结对项目"),
    Column(lambda p: len(p.get("labourers") or []), "已报告劳动力（人）", "int"),
))
