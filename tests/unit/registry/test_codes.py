"""Code lists: labels, parse(), and agreement with the rule table."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.domain import (
    CODE_LISTS,
    Cause,
    DiscoveryRoute,
    ExitCheck,
    LabourCapacity,
    MonitoringCategory,
    Pathway,
    PovertyAttribute,
    Relation,
    RemovalReason,
    code_list,
    parse,
)
from shared.policy import load_policy


def test_members_are_codes_with_chinese_labels():
    assert PovertyAttribute.TEKUN == "tekun"
    assert PovertyAttribute.TEKUN.label == "特困供养贫困户(五保)"
    assert PovertyAttribute.DIBAO.label == "低保贫困户"
    assert Cause.LACK_MOTIVATION.label == "自身发展动力不足"
    assert Cause.POOR_TRANSPORT.label == "交通条件落后"
    assert LabourCapacity.WEAK_LABOUR.label == "弱劳动力或半劳动力"
    assert Relation.GRANDCHILD.label == "孙子女"
    assert Pathway.FINANCE.label == "金融扶贫(小额信贷)"
    assert RemovalReason.WRONGLY_INCLUDED.label == "识别不准清退"
    assert DiscoveryRoute.DEPARTMENT_DATA.label == "部门筛查预警"
    assert MonitoringCategory.MARGINAL.label_zh == "边缘易致贫户"
    for enum_cls in CODE_LISTS.values():
        for member in enum_cls:
            assert isinstance(member, str) and member.label and member.code == member.value


def test_code_list_sizes():
    assert len(Cause) == 12
    assert [m.value for m in PovertyAttribute] == ["general", "dibao", "tekun"]
    assert len(LabourCapacity) == 5 and len(Relation) == 7 and len(Pathway) == 9
    assert len(RemovalReason) == 6 and len(MonitoringCategory) == 3 and len(DiscoveryRoute) == 3
    assert code_list(PovertyAttribute)[0] == {"code": "general", "label": "一般贫困户"}


def test_parse_accepts_member_code_and_label():
    assert parse(Cause, Cause.ILLNESS) is Cause.ILLNESS
    assert parse(Cause, "illness") is Cause.ILLNESS
    assert parse(Cause, "因病") is Cause.ILLNESS
    assert parse(PovertyAttribute, "特困供养贫困户(五保)") is PovertyAttribute.TEKUN


@pytest.mark.parametrize("bad", ["sick", "", None, 3, "ILLNESS"])
def test_parse_rejects_with_bilingual_message_listing_codes(bad):
    with pytest.raises(ValueError) as info:
        parse(Cause, bad)
    message = str(info.value)
    assert "无效代码" in message and "invalid code" in message
    for member in Cause:
        assert member.value in message


def test_labour_capacity_has_labour():
    assert LabourCapacity.NORMAL_LABOUR.has_labour
    assert LabourCapacity.SKILLED_LABOUR.has_labour
    assert LabourCapacity.WEAK_LABOUR.has_labour
    assert not LabourCapacity.NO_LABOUR.has_labour
    assert not LabourCapacity.NO_LABOUR_ABILITY.has_labour


def test_five_batches():
    assert {p for p in Pathway if p.five_batches} == {
        Pathway.INDUSTRY, Pathway.RELOCATION, Pathway.ECOLOGICAL, Pathway.EDUCATION, Pathway.SOCIAL_SECURITY
    }


def test_exit_checks_match_the_rule_table_exactly():
    policy = load_policy()
    xinjiang = policy.lookup("household.exit.required_checks", "652722101001", date(2017, 12, 31))
    national = policy.lookup("household.exit.required_checks", "130721100200", date(2017, 12, 31))
    assert [(c["code"], c["label"]) for c in xinjiang.value["checks"]] == [(m.value, m.label) for m in ExitCheck]
    assert [(c["code"], c["label"]) for c in national.value["checks"]] == [
        (m.value, m.label) for m in ExitCheck if m.group != "四具有"
    ]
    assert ExitCheck.FOOD.group == "两不愁" and ExitCheck.HOUSING_SAFETY.group == "三保障"
    assert ExitCheck.CULTURAL_LIFE.group == "四具有"


def test_monitoring_categories_match_the_rule_table():
    rule = load_policy().lookup("monitoring.categories", "", date(2021, 6, 1))
    assert [(c["code"], c["label"]) for c in rule.value] == [(m.value, m.label) for m in MonitoringCategory]
