"""The code lists of what the registry's offices read besides the households and the grievances'
procedure: benefits received (享受扶持情况), why two persons may be one (疑似重复) and what an
upload was — each defined once with its Chinese and English labels: the answer enums
(``api/schemas``), the catalogue (``GET /catalogue``) and the spreadsheets' labels
(``api/exports.py``) derive from these. Pure data."""

from __future__ import annotations

from shared.vocabulary import Vocabulary

BENEFIT_KIND = Vocabulary.of("benefit_kind", "扶持类别", "benefit kind", [
    ("wages", "务工工资", "wages"), ("dividend", "分红", "dividend"), ("subsidy", "补助", "subsidy"),
    ("in_kind", "实物", "in kind"), ("payment", "资金发放", "payment")])
BENEFIT_SOURCE = Vocabulary.of("benefit_source", "扶持来源", "benefit source", [
    ("projects", "扶贫项目", "projects service"), ("funds", "扶贫资金", "funds service")])
DUPLICATE_REASON = Vocabulary.of("duplicate_reason", "疑似重复理由", "why two persons may be one", [
    ("id_number_one_edit", "身份证号仅一位之差", "ID numbers one digit or one swap apart"),
    ("same_name", "姓名相同", "same name (traditional and simplified alike)"), ("similar_name", "姓名相近", "similar name"),
    ("same_birth_date", "出生日期相同", "same birth date"), ("same_sex", "性别相同", "same sex"),
    ("same_village", "同村", "same village")])
#: what was uploaded: the roll, or a department's list (``department:<dept>``, not a code of this list)
IMPORT_KIND = Vocabulary.of("import_kind", "导入类型", "import kind", [("roll", "建档立卡花名册", "the 建档立卡 roll")])

#: (list, the answer fields that carry its codes)
OFFICE_LISTS: tuple[tuple[Vocabulary, tuple[str, ...]], ...] = (
    (BENEFIT_KIND, ("kind",)), (BENEFIT_SOURCE, ("source",)), (DUPLICATE_REASON, ("reasons",)),
    (IMPORT_KIND, ("kind",)),
)
