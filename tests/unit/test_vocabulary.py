"""Vocabularies: one definition per code list, from which the API enums, the import's accepted
spellings and the catalogue labels derive (shared/vocabulary.py, issue 17)."""

from __future__ import annotations

import typing

import pytest

from services.registry.api.assistance import MeasureIn, MonitoringIn, Removal, ReturnIn
from services.registry.api.households import IncomeIn, Member, MemberLeaves, ProposeIn
from services.registry.domain import workflow
from services.registry.domain.codes import CODE_LISTS, VOCABULARIES, Cause, Relation, vocabulary_of
from services.registry.usecases.imports import COLUMNS_BY_KEY
from shared.vocabulary import Code, Vocabulary


def test_a_vocabulary_accepts_each_code_its_label_and_its_spellings():
    colour = Vocabulary.of("colour", "颜色", "colour", [("red", "红", "red", ("赤",)), ("blue", "蓝", "blue")])
    assert colour.codes == ("red", "blue")
    assert colour.spellings() == {"red": "red", "红": "red", "赤": "red", "blue": "blue", "蓝": "blue"}
    assert colour.parse("赤") == "red" and colour.label("blue") == "蓝" and colour.label("green") == "green"
    assert colour.catalogue() == {"name": "colour", "zh": "颜色", "en": "colour", "codes": [
        {"code": "red", "zh": "红", "en": "red"}, {"code": "blue", "zh": "蓝", "en": "blue"}]}
    with pytest.raises(ValueError, match="allowed codes: red, blue"):
        colour.parse("green")


def test_a_spelling_may_name_only_one_code():
    with pytest.raises(ValueError, match="'赤' spells both red and pink"):
        Vocabulary("colour", "颜色", "colour", (Code("red", "红", "red", ("赤",)), Code("pink", "粉", "pink", ("赤",))))
    with pytest.raises(ValueError, match="listed twice"):
        Vocabulary("colour", "颜色", "colour", (Code("red", "红", "red"), Code("red", "赤", "red")))


def test_every_registry_vocabulary_has_chinese_and_english_labels():
    for name, vocabulary in VOCABULARIES.items():
        assert vocabulary.name == name and vocabulary.zh and vocabulary.en
        assert all(code.zh and code.en for code in vocabulary), name


def test_the_enum_code_lists_are_the_vocabularies():
    for name, enum_cls in CODE_LISTS.items():
        assert VOCABULARIES[name] == vocabulary_of(enum_cls)
        assert VOCABULARIES[name].codes == tuple(m.value for m in enum_cls)
        assert [c.zh for c in VOCABULARIES[name]] == [m.label for m in enum_cls]
    assert VOCABULARIES["relation"].parse("之妻") == Relation.SPOUSE and Cause.ILLNESS.en == "illness"


def literal_codes(annotation) -> tuple:
    while typing.get_origin(annotation) is not typing.Literal:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_args(annotation)


@pytest.mark.parametrize(("model", "field", "vocabulary"), [
    (ProposeIn, "poverty_attribute", "poverty_attribute"), (ProposeIn, "main_cause", "cause"),
    (ProposeIn, "secondary_cause", "cause"), (Member, "relation", "relation"), (Member, "health", "health"),
    (Member, "labour_capacity", "labour_capacity"), (MemberLeaves, "reason", "leave_reason"),
    (MeasureIn, "pathway", "pathway"), (MonitoringIn, "route", "discovery_route"), (ReturnIn, "cause", "cause"),
    (Removal, "reason", "removal_reason"),
])
def test_the_api_enums_are_the_vocabularies(model, field, vocabulary):
    assert literal_codes(model.model_fields[field].annotation) == VOCABULARIES[vocabulary].codes


def test_income_components_are_a_vocabulary():
    keys = typing.get_args(IncomeIn.model_fields["components"].annotation)[0]
    assert typing.get_args(keys) == VOCABULARIES["income_component"].codes


@pytest.mark.parametrize(("column", "vocabulary"), [
    ("relation", "relation"), ("labour_capacity", "labour_capacity"), ("education", "education"),
    ("school_stage", "school_stage"), ("health", "health"), ("poverty_attribute", "poverty_attribute"),
    ("main_cause", "cause"),
])
def test_the_import_accepts_exactly_the_vocabularys_spellings(column, vocabulary):
    expected = {k: v for k, v in VOCABULARIES[vocabulary].spellings().items() if k}
    assert dict(COLUMNS_BY_KEY[column].codes) == expected


def test_status_labels_are_the_status_vocabulary():
    assert workflow.STATUS_LABELS == {c.code: c.zh for c in VOCABULARIES["status"]}
    assert workflow.ON_ROLL <= set(VOCABULARIES["status"].codes)
