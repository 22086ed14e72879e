"""The registry's lists as spreadsheets (``shared.web.export``): the households roster (建档立卡花名册),
the statistics, a household's benefits, the missing-assistance report, grievances, corrections,
duplicate candidates and the import history — codes shown by their Chinese labels, ID numbers as
the caller reads them in JSON."""

from __future__ import annotations

from typing import Any, Mapping

from services.registry.api.catalogue import IMPORT_STATUS
from services.registry.domain import codes, corrections, grievance, workflow
from services.registry.domain import office_codes as office
from shared.announcements.domain import LEVEL_LABELS
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


#: 享受扶持情况: one row per benefit, the household's number on each
BENEFITS = Export("享受扶持情况", rows=lambda a: [{**b, "household": a.get("household")} for b in a.get("items") or []],
                  columns=(
    Column("household", "户编号"),
    Column("on", "日期", "date"),
    Column("kind", "类别", label=office.BENEFIT_KIND.label),
    Column("source", "来源", label=office.BENEFIT_SOURCE.label),
    Column("reference", "项目编号或支付凭证"),
    Column("amount", "金额（元）", "yuan"),
    Column("id", "记录编号"),
))


def _missing_rows(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """One row per household lacking something: a 帮扶责任人, a measure, or both."""
    without_helper, without_measure = answer.get("without_helper") or [], answer.get("without_measure") or []
    numbers = sorted({*without_helper, *without_measure})
    return [{"division": answer.get("division"), "number": n, "without_helper": n in without_helper,
             "without_measure": n in without_measure} for n in numbers]


#: 帮扶缺失清单: the households on the roll without a helper or without a measure
MISSING_ASSISTANCE = Export("帮扶缺失清单", rows=_missing_rows, columns=(
    Column("number", "户编号"),
    Column("division", "查询区划代码"),
    Column("without_helper", "无帮扶责任人"),
    Column("without_measure", "无帮扶措施"),
))

def _late(item: Mapping[str, Any], key: str) -> str:
    return "、".join(grievance.LATE.label(k) for k in item.get(key) or [])


def _links(grievance_: Mapping[str, Any]) -> list[str]:
    return [f"{grievance.LINK_KIND.label(link.get('kind'))}：{link.get('ref')}" for link in grievance_.get("links") or []]


def _complainant(grievance_: Mapping[str, Any]) -> str | None:
    who = grievance_.get("complainant") or {}
    return "匿名" if who.get("anonymous") else who.get("name")


#: 举报登记: the grievances as the officials read them in JSON (the complainant's contact included)
GRIEVANCES = Export("举报受理", rows="items", columns=(
    Column("receipt", "回执号"),
    Column("channel", "渠道", label=grievance.CHANNEL.label),
    Column("division", "区划代码"),
    Column("received_on", "登记日期", "date"),
    Column("status", "状态", label=grievance.STATUS.label),
    Column("category", "问题类别", label=grievance.CATEGORY.label),
    Column("summary", "举报内容"),
    Column(_links, "关联对象"),
    Column(_complainant, "举报人"),
    Column("complainant.phone", "联系电话"),
    Column("assigned_to", "承办区划代码"),
    Column("accept_by", "受理期限", "date"),
    Column("answer_by", "答复期限", "date"),
    Column("answered_on", "答复日期", "date"),
    Column("outcome", "核查结论", label=grievance.OUTCOME.label),
    Column("answer", "答复内容"),
    Column("closed_on", "办结日期", "date"),
    Column(lambda g: _late(g, "overdue"), "逾期情况"),
    Column("citation", "期限依据"),
))

#: 逾期举报: the grievances past their acceptance or answer date
OVERDUE_GRIEVANCES = Export("逾期举报", rows="items", columns=(
    Column("receipt", "回执号"),
    Column("division", "区划代码"),
    Column("status", "状态", label=grievance.STATUS.label),
    Column("assigned_to", "承办区划代码"),
    Column("accept_by", "受理期限", "date"),
    Column("answer_by", "答复期限", "date"),
    Column(lambda g: _late(g, "late"), "逾期情况"),
    Column("days_late", "逾期天数", "int"),
    Column("citation", "期限依据"),
))

def _changes(request: Mapping[str, Any], side: str) -> str:
    """``field：value`` of each changed field, old or new (ID numbers masked as in the JSON)."""
    return "；".join(f"{field}：{'' if pair.get(side) is None else pair.get(side)}"
                    for field, pair in (request.get("changes") or {}).items())


#: 信息更正记录: each correction with its old and new values
CHANGE_REQUESTS = Export("信息更正记录", rows="items", columns=(
    Column("created_at", "提出时间"),
    Column("kind", "更正类型", label=corrections.KIND.label),
    Column("division", "区划代码"),
    Column("dept", "部门"),
    Column(lambda r: _changes(r, "old"), "原值"),
    Column(lambda r: _changes(r, "new"), "新值"),
    Column("reason", "更正理由"),
    Column("document", "证明材料"),
    Column("level", "审核层级", label=labels(LEVEL_LABELS)),
    Column("status", "状态", label=corrections.STATUS.label),
    Column("proposed_by", "提出人"),
    Column("decided_by", "审核人"),
    Column("decided_at", "审核时间"),
    Column("decision_reason", "审核意见"),
    Column("household_id", "户ID"),
    Column("id", "更正编号"),
))

def _found_by(candidate: Mapping[str, Any]) -> str:
    found = str(candidate.get("found_by") or "")
    return "新识别申报" if found == "proposal" else "批量导入" if found.startswith("import:") else found


#: 疑似重复人员清单: each open pair, both persons with their ID numbers masked as in the JSON
DUPLICATES = Export("疑似重复人员清单", rows="items", columns=(
    Column("score", "相似度", "int"),
    Column("reasons", "疑似理由", label=lambda reasons: [office.DUPLICATE_REASON.label(r) for r in reasons]),
    Column(_found_by, "发现途径"),
    Column("person.name", "新登记人员姓名"),
    Column("person.id_number", "新登记人员身份证号"),
    Column("person.household", "新登记人员户编号"),
    Column("person.division", "新登记人员区划代码"),
    Column("other.name", "已登记人员姓名"),
    Column("other.id_number", "已登记人员身份证号"),
    Column("other.household", "已登记人员户编号"),
    Column("other.division", "已登记人员区划代码"),
    Column("id", "疑似重复编号"),
))

def _import_kind(kind: str) -> str:
    if kind.startswith("department:"):
        return f"部门数据（{kind.split(':', 1)[1]}）"
    return office.IMPORT_KIND.label(kind)


#: 导入记录: every upload, imported or refused, with its counts or its number of errors
IMPORTS = Export("导入记录", rows="items", columns=(
    Column("at", "上传时间"),
    Column("kind", "类型", label=_import_kind),
    Column("division", "区划代码"),
    Column("filename", "文件名"),
    Column("status", "结果", label=IMPORT_STATUS.label),
    Column("result.households", "户数", "int"),
    Column("result.persons", "人数", "int"),
    Column("result.duplicate_candidates", "疑似重复人数", "int"),
    # only a refused upload has these (an imported one's result has none): read as a function, so no
    # demo of clean imports reads them as a misspelt key (tests/exports.py assert_columns_read_the_json)
    Column(lambda row: (row.get("result") or {}).get("total_errors"), "错误数", "int"),
    Column(lambda row: (row.get("result") or {}).get("detail"), "说明"),
    Column("encoding", "编码"),
    Column("by", "上传人"),
    Column("sha256", "文件SHA-256"),
    Column("import_id", "导入编号"),
))
