"""Use rules (DOMAIN.md §4): the negative list of 财农〔2017〕8号 and the 1% management-fee cap."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.funds.domain import (
    FundsError,
    NegativeListPurpose,
    PURPOSE_CODES,
    PURPOSES,
    UnknownPurpose,
    check_purpose,
    management_fee_cap_fen,
    management_fee_ok,
    negative_list,
)
from shared.errors import Problem
from shared.policy import load_policy

from .helpers import JINGHE

ON = date(2017, 6, 1)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_negative_list_has_nine_items(policy):
    items = negative_list(policy, JINGHE, ON)
    assert len(items) == 9
    assert {"code": "vehicles_telecom_equipment", "label": "交通工具及通讯设备"} in items
    assert negative_list(policy, JINGHE, date(2016, 6, 1)) == []  # before 财农〔2017〕8号


@pytest.mark.parametrize("item", load_policy().value("funds.use.negative_list", JINGHE, ON),
                         ids=lambda item: item["code"])
def test_every_negative_list_item_is_refused_with_label_and_citation(policy, item):
    with pytest.raises(NegativeListPurpose) as info:
        check_purpose(policy, JINGHE, ON, item["code"])
    err = info.value
    assert err.code == "negative_list_purpose"
    assert item["label"] in err.detail and "财农〔2017〕8号" in err.detail
    assert err.extensions["label"] == item["label"]
    assert "财农〔2017〕8号" in err.extensions["citation"]
    assert err.extensions["rule"] == "funds.use.negative_list"
    assert isinstance(err, Problem) and err.status == 422
    assert err.body()["purpose"] == item["code"]


def test_allowed_purposes(policy):
    assert check_purpose(policy, JINGHE, ON, "industry_development") is None
    assert check_purpose(policy, JINGHE, ON, "small_public_infrastructure") is None
    # before the list is in force no known code is refused
    assert check_purpose(policy, JINGHE, date(2016, 12, 31), "vehicles_telecom_equipment") is None
    with pytest.raises(FundsError):
        check_purpose(policy, JINGHE, ON, "")


@pytest.mark.parametrize("spelling", ["rural_roads", "Vehicles_Telecom_Equipment", " industry_development",
                                      "交通工具及通讯设备", "vehicles-telecom-equipment", "", "产业发展"])
def test_anything_but_a_purpose_code_is_refused_with_the_valid_codes(policy, spelling):
    with pytest.raises(UnknownPurpose) as info:
        check_purpose(policy, JINGHE, date(2016, 12, 31), spelling)  # even before the negative list
    assert info.value.status == 422 and info.value.extensions["valid"] == list(PURPOSE_CODES)


def test_the_negative_list_marks_codes_of_the_purpose_list_with_their_labels(policy):
    for item in negative_list(policy, JINGHE, ON):
        assert PURPOSES[item["code"]] == item["label"]


def test_management_fee_cap_is_one_percent_floor(policy):
    ok, cap, citation = management_fee_ok(policy, JINGHE, ON, 123_456_789, 0, 1_234_567)
    assert (ok, cap) == (True, 1_234_567)  # 1% of 1,234,567.89 yuan floored to the fen
    assert "财农〔2017〕8号" in citation
    assert management_fee_ok(policy, JINGHE, ON, 123_456_789, 0, 1_234_568)[0] is False
    assert management_fee_ok(policy, JINGHE, ON, 123_456_789, 1_000_000, 234_567)[0] is True
    assert management_fee_ok(policy, JINGHE, ON, 123_456_789, 1_000_000, 234_568)[0] is False
    assert management_fee_ok(policy, JINGHE, ON, 99, 0, 0) == (True, 0, citation)
    assert management_fee_ok(policy, JINGHE, ON, 99, 0, 1)[0] is False


@given(st.integers(0, 10**15), st.integers(0, 10**13), st.integers(0, 10**13))
def test_management_fee_cap_is_exact(total, so_far, new):
    policy = load_policy()
    ok, cap, _ = management_fee_ok(policy, JINGHE, ON, total, so_far, new)
    assert cap == total // 100
    assert cap * 100 <= total < (cap + 1) * 100
    assert ok == (so_far + new <= cap)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None])
def test_management_fee_inputs_are_int_fen(policy, bad):
    for args in ((bad, 0, 0), (100, bad, 0), (100, 0, bad)):
        with pytest.raises(FundsError):
            management_fee_ok(policy, JINGHE, ON, *args)


def test_fee_cap_from_an_override_with_a_decimal_percent(tmp_path):
    override = tmp_path / "fees.yaml"
    override.write_text(textwrap.dedent("""\
        - id: funds.use.project_management_fee_cap
          jurisdiction: "652722"
          effective_from: 2018-01-01
          value: {max_percent: "1.5", level: county}
          citation: "精财农〔2018〕1号 (test)"
          title: test
        """), encoding="utf-8")
    policy = load_policy([override])
    assert management_fee_cap_fen(policy, JINGHE, date(2018, 3, 1), 1_000_001) == (15_000, "精财农〔2018〕1号 (test)")
    assert management_fee_cap_fen(policy, JINGHE, date(2017, 3, 1), 1_000_001)[0] == 10_000
