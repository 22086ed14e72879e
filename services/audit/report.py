"""The audit report in three forms, from :meth:`AuditResult.as_dict`: JSON (everything), CSV (one
row per finding, discrepancy and chain problem) and a self-contained HTML page (summary, findings
by rule and by division, money-flow tables, simple bar charts as inline SVG; the house style of
the announcement boards, ``shared/announcements/templates/base.html``). Pure: no I/O but
:func:`write_report`.

No full ID number reaches a report: event data carrying them is never copied into findings, and
as a second net the free-text fields (JSON, CSV) and the whole page (HTML) go through
``shared.masking.mask_personal_numbers`` — not the whole JSON, whose hashes are hex strings that
such a filter could take for phone numbers.
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.audit.domain.code_lists import DISCREPANCY_KIND, SOURCE
from shared.masking import mask_personal_numbers
from shared.web.export import Column, Export, csv_text, labels

HTML_ROWS = 2000  # findings listed in the page; the JSON and CSV have them all
CSV_COLUMNS = ["section", "rule_or_kind", "service", "seq", "division", "subject", "detail", "citation", "amount",
               "expected", "actual"]
_TEMPLATES = Path(__file__).parent / "templates"
_HOUSE = Path(__file__).resolve().parents[2] / "shared" / "announcements" / "templates"


_FREE_TEXT = ("detail", "subject", "expected", "actual")


def masked(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report with its free-text fields passed through the ID and phone mask."""
    def clean(items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{k: mask_personal_numbers(v) if k in _FREE_TEXT and isinstance(v, str) else v
                 for k, v in item.items()} for item in items]

    return {**report, "findings": clean(report["findings"]), "discrepancies": clean(report["discrepancies"]),
            "reference_problems": clean(report["reference_problems"]),
            "chains": [{**c, "problems": clean(c["problems"])} for c in report["chains"]],
            "notes": [mask_personal_numbers(n) for n in report["notes"]]}


def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(masked(report), ensure_ascii=False, indent=2, default=str) + "\n"


def report_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per chain problem, discrepancy and finding (masked), each with every key of
    :data:`CSV_COLUMNS` (null where the row's section has no such field)."""
    report = masked(report)
    rows: list[dict[str, Any]] = []
    blank = dict.fromkeys(CSV_COLUMNS)
    for p in [q for chain in report["chains"] for q in chain["problems"]] + list(report["reference_problems"]):
        rows.append({**blank, "section": "chain", "rule_or_kind": p["kind"], "service": p["service"], "seq": p["seq"],
                     "detail": p["detail"]})
    for d in report["discrepancies"]:
        rows.append({**blank, "section": "discrepancy", "rule_or_kind": d["kind"], "service": d["service"], "seq": d["seq"],
                     "subject": d["subject"], "detail": d["detail"], "expected": d["expected"], "actual": d["actual"]})
    for f in report["findings"]:
        rows.append({**blank, "section": "finding", "rule_or_kind": f["rule_id"], "service": f["source"], "seq": f["seq"],
                     "division": f["division"], "subject": f["subject"], "detail": f["detail"],
                     "citation": f["citation"], "amount": f["amount"]})
    return rows


SECTIONS = {"chain": "日志校验", "discrepancy": "重建差异", "finding": "合规问题"}
#: the report as a spreadsheet: one row per chain problem, discrepancy and finding
REPORT_EXPORT = Export("审计报告", rows=report_rows, columns=tuple(
    Column(key, header, kind, label) for key, header, kind, label in (
    ("section", "类别", "text", labels(SECTIONS)), ("rule_or_kind", "规则或类型", "text", None),
    ("service", "服务", "text", None), ("seq", "事件序号", "int", None), ("division", "区划代码", "text", None),
    ("subject", "对象", "text", None), ("detail", "说明", "text", None), ("citation", "依据", "text", None),
    ("amount", "金额（元）", "yuan", None), ("expected", "应为", "text", None), ("actual", "实为", "text", None))))
#: the findings alone (``GET /audit/findings``)
FINDINGS_EXPORT = Export("合规问题", rows="findings", columns=(
    Column("rule_id", "规则"), Column("title", "问题"), Column("division", "区划代码"), Column("subject", "对象"),
    Column("detail", "说明"), Column("source", "服务"), Column("seq", "事件序号", "int"),
    Column("amount", "金额（元）", "yuan"), Column("citation", "依据"),
))


#: the rebuild-and-diff alone (``GET /audit/discrepancies``): kinds and services by their Chinese names
DISCREPANCIES_EXPORT = Export("重建差异", rows="discrepancies", columns=(
    Column("kind", "差异类型", label=DISCREPANCY_KIND.label),
    Column("service", "服务", label=SOURCE.label), Column("subject", "对象"),
    Column("expected", "应为（按事件重建）"), Column("actual", "实为（服务所报）"), Column("seq", "事件序号", "int"),
    Column("detail", "说明"),
))


def to_csv(report: Mapping[str, Any]) -> str:
    """UTF-8 text with a BOM and Chinese headers (``shared.web.export``)."""
    return csv_text(REPORT_EXPORT, report_rows(report))


def bar_chart(rows: Sequence[tuple[str, int]], *, unit: str = "", width: int = 640) -> Markup:
    """Horizontal bars as an inline SVG (no script, no external file)."""
    if not rows:
        return Markup("")
    bar_h, gap, label_w = 18, 6, 260
    top = max(value for _, value in rows) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        length = max(1, round((width - label_w - 90) * value / top)) if value else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label[:40])}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" fill="#a3100f"/>'
                     f'<text x="{label_w + length + 4}" y="{y + 13}">{escape(f"{value:,}{unit}")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=ChoiceLoader([FileSystemLoader(_TEMPLATES), FileSystemLoader(_HOUSE)]),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True)


def to_html(report: Mapping[str, Any]) -> str:
    findings = report["findings"]
    by_rule: dict[str, dict[str, Any]] = {}
    by_division: dict[str, dict[str, int]] = {}
    for f in findings:
        rule = by_rule.setdefault(f["rule_id"], {"rule_id": f["rule_id"], "citation": f["citation"], "title": f["title"],
                                                 "count": 0})
        rule["count"] += 1
        counts = by_division.setdefault(f["division"], {})
        counts[f["rule_id"]] = counts.get(f["rule_id"], 0) + 1
    division_rows = [{"division": d, "counts": c, "total": sum(c.values())} for d, c in sorted(by_division.items())]
    figures = report.get("figures") or {}
    flows = figures.get("money_flows") or []
    by_operation: dict[str, int] = {}
    for flow in flows:
        by_operation[flow["label"]] = by_operation.get(flow["label"], 0) + flow["amount_fen"] // 100
    html = _environment().get_template("report.html").render(
        r={**report, "division_label": report["division"] or "全国 national"},
        by_rule=sorted(by_rule.values(), key=lambda r: r["rule_id"]), rules=sorted(by_rule),
        by_division=division_rows, flows=flows, balances=figures.get("balances_by_kind") or [],
        registry=figures.get("registry"), discrepancies=report["discrepancies"][:HTML_ROWS],
        findings=findings[:HTML_ROWS], shown=min(len(findings), HTML_ROWS),
        chart_rules=bar_chart([(r, v["count"]) for r, v in sorted(by_rule.items())]),
        chart_divisions=bar_chart([(row["division"], row["total"]) for row in division_rows[:40]]),
        chart_flows=bar_chart(list(by_operation.items()), unit=" 元"),
    )
    return mask_personal_numbers(html)


def write_report(report: Mapping[str, Any], out: Path, stem: str = "audit-report") -> dict[str, Path]:
    """Write ``<stem>.json``, ``.csv`` and ``.html`` into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / f"{stem}.{kind}" for kind in ("json", "csv", "html")}
    paths["json"].write_text(to_json(report), encoding="utf-8")
    paths["csv"].write_text(to_csv(report), encoding="utf-8")
    paths["html"].write_text(to_html(report), encoding="utf-8")
    return paths
