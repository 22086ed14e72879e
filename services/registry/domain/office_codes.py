"""The code lists of the registry's office records — grievances (监督举报), corrections (信息更正),
benefits received (享受扶持情况), duplicate candidates, imports and the public board — each defined once
with its Chinese and English labels and the answer fields that carry it: the API enums
(``api/schemas.py``), the catalogue (``GET /catalogue``) and the spreadsheets' labels
(``api/exports.py``) all derive from these. Pure data."""

from __future__ import annotations

from services.registry.domain import grievance
from shared.announcements.contract import SERVICE_LABELS
from shared.vocabulary import Vocabulary

_CHANNEL_EN = {"12317": "the 12317 supervision hotline", "phone": "another phone line", "letter": "letter",
               "visit": "visit", "board_objection": "objection escalated from a notice board"}
_CATEGORY_EN = {"identification": "inaccurate identification", "exit": "untrue exit", "assistance": "assistance measures",
                "funds": "use of funds", "project": "project implementation", "conduct": "officials' conduct",
                "consultation": "policy question", "other": "other"}
_OUTCOME_EN = {"substantiated": "substantiated", "partly_substantiated": "partly substantiated",
               "unsubstantiated": "unsubstantiated", "answered": "answered (a question)"}
_STATUS_EN = {"received": "received", "classified": "accepted", "assigned": "assigned", "investigating": "investigating",
              "answered": "answered", "closed": "closed"}

GRIEVANCE_CHANNEL = Vocabulary.of("grievance_channel", "举报渠道", "grievance channel",
                                  [(c, zh, _CHANNEL_EN[c]) for c, zh in grievance.CHANNELS.items()])
GRIEVANCE_CATEGORY = Vocabulary.of("grievance_category", "举报问题类别", "grievance category",
                                   [(c, zh, _CATEGORY_EN[c]) for c, zh in grievance.CATEGORIES.items()])
GRIEVANCE_OUTCOME = Vocabulary.of("grievance_outcome", "核查结论", "grievance outcome",
                                  [(c, zh, _OUTCOME_EN[c]) for c, zh in grievance.OUTCOMES.items()])
GRIEVANCE_STATUS = Vocabulary.of("grievance_status", "举报办理状态", "grievance status",
                                 [(c, zh, _STATUS_EN[c]) for c, zh in grievance.STATUS_LABELS.items()])
GRIEVANCE_LINK = Vocabulary.of("grievance_link", "举报关联对象", "what a grievance is linked to", [
    ("household", "贫困户", "a household (id or number)"), ("payment", "资金发放", "a payment reference"),
    ("project", "扶贫项目", "a project code"), ("announcement", "公告公示", "an announcement id")])
assert GRIEVANCE_LINK.codes == grievance.LINK_KINDS
GRIEVANCE_LATE = Vocabulary.of("grievance_late", "逾期情况", "what is late", [
    ("accept", "逾期未受理", "not accepted by its date"), ("answer", "逾期未答复", "not answered by its date")])

CHANGE_KIND = Vocabulary.of("change_request_kind", "更正类型", "correction kind", [
    ("identity", "身份信息", "identity (name, ID number)"), ("person", "人员信息", "a person's data"),
    ("household", "家庭信息", "a household's data"), ("department", "部门信息", "a department's data on a person")])
CHANGE_STATUS = Vocabulary.of("change_request_status", "更正审核状态", "correction status", [
    ("proposed", "待审核", "proposed"), ("approved", "已批准", "approved"), ("rejected", "已驳回", "rejected")])
OFFICE_LEVEL = Vocabulary.of("office_level", "审核层级", "office level", [
    ("village", "村", "village"), ("township", "乡镇", "township"), ("county", "县", "county"),
    ("city", "市", "city"), ("province", "省", "province")])

DUPLICATE_REASON = Vocabulary.of("duplicate_reason", "疑似重复理由", "why two persons may be one", [
    ("id_number_one_edit", "身份证号仅一位之差", "ID numbers one digit or one swap apart"),
    ("same_name", "姓名相同", "same name (traditional and simplified alike)"), ("similar_name", "姓名相近", "similar name"),
    ("same_birth_date", "出生日期相同", "same birth date"), ("same_sex", "性别相同", "same sex"),
    ("same_village", "同村", "same village")])

BENEFIT_KIND = Vocabulary.of("benefit_kind", "扶持类别", "benefit kind", [
    ("wages", "务工工资", "wages"), ("dividend", "分红", "dividend"), ("subsidy", "补助", "subsidy"),
    ("in_kind", "实物", "in kind"), ("payment", "资金发放", "payment")])
BENEFIT_SOURCE = Vocabulary.of("benefit_source", "扶持来源", "benefit source", [
    ("projects", "扶贫项目", "projects service"), ("funds", "扶贫资金", "funds service")])
#: what was uploaded: the roll, or a department's list (``department:<dept>``, not a code of this list)
IMPORT_KIND = Vocabulary.of("import_kind", "导入类型", "import kind", [("roll", "建档立卡花名册", "the 建档立卡 roll")])
IMPORT_STATUS = Vocabulary.of("import_status", "导入结果", "import outcome", [
    ("imported", "已导入", "imported"), ("refused", "整批退回", "refused as a whole")])
ANNOUNCING_SERVICE = Vocabulary.of("announcing_service", "公告类别", "announcing service",
                                   [(s, zh, s) for s, zh in SERVICE_LABELS.items()])

#: (list, the answer fields that carry its codes)
OFFICE_LISTS: tuple[tuple[Vocabulary, tuple[str, ...]], ...] = (
    (GRIEVANCE_CHANNEL, ("channel",)), (GRIEVANCE_CATEGORY, ("category",)), (GRIEVANCE_OUTCOME, ("outcome",)),
    (GRIEVANCE_STATUS, ("status",)), (GRIEVANCE_LATE, ("late", "overdue")),
    (GRIEVANCE_LINK, ("links.kind",)),
    (CHANGE_KIND, ("kind",)), (DUPLICATE_REASON, ("reasons",)), (CHANGE_STATUS, ("status",)), (OFFICE_LEVEL, ("level",)),
    (BENEFIT_KIND, ("kind",)), (BENEFIT_SOURCE, ("source",)), (ANNOUNCING_SERVICE, ("service",)),
    (IMPORT_KIND, ("kind",)), (IMPORT_STATUS, ("status",)),
)
