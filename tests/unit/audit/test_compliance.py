"""Each compliance rule fires on a scenario built to break it, cites its rule, and is silent on a
scenario that keeps every rule (logs built in memory; the replay and the checks are the real ones)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from services.audit import compliance
from services.audit.run import cutoff, replay
from shared.policy import load_policy
from tests.unit.audit.logs import JINGHE, VILLAGE, World, key

AS_OF = date(2017, 6, 30)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def findings(world: World, policy, as_of: date = AS_OF, division: str = "") -> list[compliance.Finding]:
    rebuilt = replay(world.loaded(), until=cutoff(as_of), verify=False).rebuilt
    return compliance.check(rebuilt, policy, as_of, division)


def rules(found) -> list[str]:
    return [f.rule_id for f in found]


def clean_world() -> World:
    """Money down to 精河县, a library project funded and paid, a household with helper and measure paid."""
    world = World()
    world.money_to_jinghe()
    household = world.household("6527221022010001")
    world.library("P-1")
    world.commit("P-1", 500_000)
    world.commit("P-1", 1_000, purpose=compliance.MANAGEMENT_FEE)  # 0.1% of what the county received
    world.disburse("P-1", 200_000, {"kind": "household", "name": "王某", "household_id": household},
                   purpose="industry_development")
    return world


def test_a_world_that_keeps_the_rules_has_no_finding(policy):
    assert findings(clean_world(), policy) == []


def test_money_committed_outside_the_library_or_before_publicity(policy):
    world = clean_world()
    world.commit("P-NOT-IN-LIBRARY", 1_000)
    world.library("P-PENDING", publicity_passed=False)
    world.commit("P-PENDING", 1_000)
    world.commit("P-LATE", 1_000)
    world.library("P-LATE")  # enters the library only after the money was committed
    found = [f for f in findings(world, policy) if f.rule_id == "project.funding.library_required"]
    assert [f.subject for f in found] == ["project P-NOT-IN-LIBRARY", "project P-PENDING", "project P-LATE"]
    assert all("国开办发〔2018〕10号" in f.citation and f.source == "funds" and f.seq for f in found)


def test_a_disbursement_beyond_its_commitment(policy):
    world = clean_world()
    event = world.disburse("P-1", 301_001, {"kind": "contractor", "name": "某公司"})  # 301,000 fen were left
    [found] = [f for f in findings(world, policy) if f.rule_id == "funds.disbursement.within_commitment"]
    assert (found.seq, found.amount_fen, found.division) == (event["seq"], 301_001, JINGHE)


def test_a_payment_to_a_household_that_is_not_registered(policy):
    world = clean_world()
    removed = world.household("6527221022010002")
    world.registry.add("registry.household.removed", removed, {"reason": "wrongly_included", "note": ""})
    world.disburse("P-1", 100, {"kind": "household", "name": "李某", "household_id": removed})
    world.disburse("P-1", 100, {"kind": "household", "name": "无名", "household_id": "0192f0a4-0000-7000-8000-00000000ffff"})
    found = [f for f in findings(world, policy) if f.rule_id == "project.beneficiaries.registered_only"]
    assert [f.subject for f in found] == ["household 6527221022010002", "household id 0192f0a4-0000-7000-8000-00000000ffff"]
    assert "removed" in found[0].detail


def test_stranded_money_not_returned_by_the_end_of_the_next_fiscal_year(policy):
    world = clean_world()
    world.post("strand", key(JINGHE, "committed", "P-1"), key(JINGHE, "stranded", "P-1"), 100_000, on="2017-09-01",
               reference="P-1", project_code="P-1")
    world.post("return", key(JINGHE, "stranded", "P-1"), key(XINJIANG := "650000000000", "returned"), 40_000,
               on="2018-06-01", reference="P-1")
    assert "funds.stranded.return" not in rules(findings(world, policy, date(2018, 12, 31)))  # still in time
    [found] = [f for f in findings(world, policy, date(2019, 1, 1)) if f.rule_id == "funds.stranded.return"]
    assert found.amount_fen == 60_000 and found.citation == "DOMAIN.md §4" and XINJIANG not in found.division


def test_a_negative_list_purpose(policy):
    world = clean_world()
    world.disburse("P-1", 1_000, {"kind": "enterprise", "name": "汽车销售公司"}, purpose="vehicles_telecom_equipment")
    [found] = [f for f in findings(world, policy) if f.rule_id == "funds.use.negative_list"]
    assert "财农〔2017〕8号" in found.citation and "交通工具及通讯设备" in found.detail


@pytest.mark.parametrize("purpose", ["交通工具及通讯设备", "Vehicles_Telecom_Equipment", "rural_roads"])
def test_a_purpose_outside_the_code_list(policy, purpose):
    world = clean_world()
    world.disburse("P-1", 1_000, {"kind": "enterprise", "name": "汽车销售公司"}, purpose=purpose)
    [found] = [f for f in findings(world, policy) if f.rule_id == "funds.use.declared_purpose"]
    assert found.citation == "财农〔2017〕8号" and purpose in found.detail and found.amount_fen == 1_000


def test_the_negative_list_is_judged_with_the_rule_in_force_at_the_time(policy):
    world = clean_world()
    world.disburse("P-1", 1_000, {"kind": "enterprise", "name": "汽车销售公司"}, purpose="vehicles_telecom_equipment",
                   on="2016-12-20")  # 财农〔2017〕8号 is in force from 2017
    assert "funds.use.negative_list" not in rules(findings(world, policy))


def test_management_fees_over_one_percent(policy):
    world = clean_world()
    world.commit("P-1", 9_001, purpose=compliance.MANAGEMENT_FEE)  # 1,000 + 9,001 > 1% of 1,000,000
    [found] = [f for f in findings(world, policy) if f.rule_id == "funds.use.project_management_fee_cap"]
    assert "财农〔2017〕8号" in found.citation and found.amount_fen == 9_001


def test_an_allocation_past_its_deadline(policy):
    world = clean_world()
    set_event = world.funds.add("funds.deadline.set", "d-1", {
        "id": "d-1", "receiver": "650000000000", "channel": "central_special", "fiscal_year": 2017,
        "kind": "onward_allocation", "due": "2017-03-31", "rule_id": "funds.deadline.central_onward",
        "citation": "《中华人民共和国预算法》(2014年修正) 第五十二条; DOMAIN.md §4", "title": "30日内下达",
        "basis_seq": 2, "basis_on": "2017-03-01", "amount_fen": 1_000_000, "state": "open"})
    assert "funds.deadline.central_onward" not in rules(findings(world, policy, date(2017, 3, 31)))
    [found] = [f for f in findings(world, policy, date(2017, 4, 10)) if f.rule_id == "funds.deadline.central_onward"]
    assert found.seq == set_event["seq"] and "10 days overdue" in found.detail and "预算法" in found.citation
    world.funds.add("funds.deadline.met", "d-1", {"met_on": "2017-03-20"})
    assert "funds.deadline.central_onward" not in rules(findings(world, policy, date(2017, 4, 10)))


def test_steps_taken_without_a_passed_notice(policy):
    world = World()
    hid = "0192f0a4-0000-7000-8000-000000000001"
    world.registry.add("registry.household.proposed", hid, {
        "household_id": hid, "number": "6527221022010009", "division": VILLAGE, "main_cause": "illness",
        "helper": None, "members": [{"labour_capacity": "normal_labour"}]})
    trail = [("appraise", "appraised"), (None, "village_notice"), ("township-review", "township_reviewed"),
             (None, "township_notice"), ("county-approve", "county_approved"), (None, "county_notice"),
             ("register", "registered")]
    notices = {"village_notice": "identification.village", "township_notice": "identification.township",
               "county_notice": "identification.county"}
    for action, to in trail:
        if action is None:
            world.registry.add("registry.households.noticed", f"a-{to}", {
                "key": notices[to], "announcement_id": f"a-{to}", "household_ids": [hid], "to": to})
            world.registry.add("registry.announcement.drafted", f"a-{to}", {"subject_type": "household_identification"})
            if to != "county_notice":  # the county announcement never closes passed
                world.registry.add("registry.announcement.closed", f"a-{to}", {"outcome": "passed"})
        else:
            world.registry.add(f"registry.household.{action.replace('-', '_')}", hid, {
                "action": action, "decision": "approve", "on": "2017-03-01", "to": to})
    found = [f for f in findings(world, policy) if f.rule_id == "household.identification.announced"]
    assert [(f.subject, "identification.county" in f.detail) for f in found] == [("household 6527221022010009", True)]
    assert "seed 002 L788" in found[0].citation


def test_households_without_a_helper_or_a_measure(policy):
    world = clean_world()
    world.household("6527221022010003", helper=False, measures=0)
    world.household("6527221022010004", status="exited", helper=False, measures=0)  # off the roll: not counted
    found = [f for f in findings(world, policy) if f.rule_id.startswith("household.")]
    assert [(f.rule_id, f.subject) for f in found] == [
        ("household.assistance.min_measures", "household 6527221022010003"),
        ("household.helper.required", "household 6527221022010003")]
    assert {f.citation for f in found} == {"seed 003 L487; DOMAIN.md §3", "seed 004 L63; DOMAIN.md §3"}


def test_findings_are_limited_to_the_division(policy):
    world = clean_world()
    world.household("6527221022010003", helper=False)
    assert findings(world, policy, division="652722")
    assert findings(world, policy, division="6527230") == []


def test_events_after_the_as_of_date_do_not_count(policy):
    world = clean_world()
    world.clock.now = datetime(2017, 8, 1, 2, tzinfo=timezone.utc)
    world.commit("P-NOT-IN-LIBRARY", 1_000)
    assert findings(world, policy, date(2017, 7, 31)) == []
    assert rules(findings(world, policy, date(2017, 8, 1))) == ["project.funding.library_required"]


def test_payments_are_checked_against_the_ledger(policy):
    """An instruction for a disbursement that is not in the log, a refused payment whose money never
    came back (funds.payment.*), and a reconciliation with a difference: one finding each."""
    world = clean_world()
    paid = world.disburse("P-1", 50_000, {"kind": "cooperative", "name": "合作社"})
    posting_id = paid["data"]["posting_id"]
    for instruction, posting, amount in (("I-1", posting_id, 50_000), ("I-2", "0192f0a4-0000-7000-8000-0000000000ff", 7_00)):
        world.funds.add("funds.payment.instructed", instruction, {
            "id": instruction, "ref": instruction, "division": JINGHE, "posting_id": posting, "amount_fen": amount,
            "state": "instructed"})
    world.funds.add("funds.payment.refused", "I-1", {"id": "I-1", "ref": "I-1", "state": "refused", "reason_code": "AC04",
                                                     "returned_posting": "0192f0a4-0000-7000-8000-0000000000ee"})
    world.funds.add("funds.reconciliation.recorded", "R-1", {
        "id": "R-1", "division": JINGHE, "on": "2017-06-22", "account_no": "****3445",
        "differences": [{"kind": "amount_differs", "ref": "I-1", "ledger": "500.00", "bank": "490.00", "reason": "…"}]})
    found = [(f.rule_id, f.subject) for f in findings(world, policy) if f.rule_id.startswith("funds.payment.")]
    assert found == [("funds.payment.instruction_matches_posting", "instruction I-2"),
                     ("funds.payment.reconciled", "专户 ****3445 2017-06-22"),
                     ("funds.payment.refused_returned", "instruction I-1")]
    assert all(f.citation for f in findings(world, policy) if f.rule_id.startswith("funds.payment."))
