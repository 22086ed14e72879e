"""The rebuilders read events as the services' own domain does."""

from __future__ import annotations

from services.audit.rebuild.registry import statistics_facts
from services.audit.run import replay
from services.funds.contract import postings_of
from services.funds.domain import Posting, PostingReader
from tests.unit.audit.logs import JINGHE, World, key


def test_the_posting_reader_equals_the_domains_from_dict():
    world = World()
    world.money_to_jinghe()
    world.commit("P-1", 100, purpose="industry_development")
    reader = PostingReader()
    for event in world.funds.events:
        for data in postings_of(event):
            assert reader.posting(data) == Posting.from_dict(data)
    assert len(reader) == 5  # each distinct account key was built once


def test_the_ledger_is_replayed_and_a_refused_posting_set_aside():
    world = World()
    world.money_to_jinghe(1_000)
    world.commit("P-1", 600)
    over = world.commit("P-2", 600)  # only 400 left: the ledger refuses it
    world.commit("P-3", 400)
    funds = replay(world.loaded()).rebuilt.funds
    assert [(r.seq, code) for r, code, _ in funds.refused] == [(over["seq"], "insufficient_funds")]
    assert funds.balances[key(JINGHE, "committed", "P-3")] == 400
    assert key(JINGHE, "available") not in funds.balances  # zero balances are not kept
    assert funds.explained_by[key(JINGHE, "available")] == world.funds.events[-1]["seq"]
    assert sum(funds.balances.values()) == 0


def test_households_rebuild_into_the_registrys_statistics_facts():
    world = World()
    world.household("6527221022010001")
    exited = world.household("6527221022010002", status="exited")
    world.registry.add("registry.household.monitored", exited, {"category": "unstable_exited"})
    registry = replay(world.loaded()).rebuilt.registry
    facts = {f.household_number: f for f in statistics_facts(registry.households.values(), 2017)}
    assert facts["6527221022010001"].has_helper and facts["6527221022010001"].measures == 1
    assert facts["6527221022010002"].monitoring_category == "unstable_exited"
    stats = registry.statistics("652722", 2017)
    assert (stats.registered.households, stats.remaining.households, stats.lacking_helper) == (2, 2, [])


def test_projects_rebuild_their_stage_and_funding_with_the_projects_domain():
    from services.audit.rebuild.projects import funding_by_project

    world = World()
    world.money_to_jinghe(1_000)
    log = world.projects
    log.add("projects.project.proposed", "P-1", {"code": "P-1", "division": JINGHE, "name": "枸杞"})
    log.add("projects.project.township_reviewed", "P-1", {"code": "P-1", "division": JINGHE, "to": "township_reviewed"})
    log.add("projects.publicity.posted", "a-1", {"codes": ["P-1"], "to": "in_publicity"})
    world.library("P-1")
    log.add("projects.beneficiaries.added", "P-1", {"code": "P-1", "household_ids": ["h-1", "h-2"]})
    world.commit("P-1", 600)
    world.disburse("P-1", 250, {"kind": "cooperative", "name": "合作社"})
    log.add("projects.acceptance.recorded", "P-1", {"code": "P-1", "result": "failed"})  # stays where it was
    rebuilt = replay(world.loaded()).rebuilt
    project = rebuilt.projects.projects["P-1"]
    assert (project.stage, project.beneficiaries) == ("in_library", {"h-1", "h-2"})
    assert funding_by_project(rebuilt.projects, rebuilt.funds)["P-1"].as_dict() == {
        "committed": "6.00", "paid": "2.50", "stranded": "0.00", "remaining": "3.50"}


def test_the_posting_reader_builds_what_from_dict_builds_or_fails_as_it_does():
    """Keys are cached by their six values for plain dicts with an int year only: a year that
    merely compares equal (2018.0), a missing or unknown field, a value that cannot be a dict key,
    or not a dict is judged on its own."""
    world = World()
    world.money_to_jinghe()
    world.commit("P-1", 100, purpose="industry_development")
    data = next(d for event in world.funds.events for d in postings_of(event) if d["operation"] == "commit")

    def variant(**to):
        return {**data, "to": {**data["to"], **to}}

    def outcome(read, posting_data):
        try:
            return read(posting_data)
        except Exception as error:  # noqa: BLE001 — compared by type and message
            return type(error), str(error)

    reader = PostingReader()
    assert reader.posting(data) == Posting.from_dict(data)
    short = {k: v for k, v in data["to"].items() if k != "reference"}
    cases = [variant(fiscal_year=float(data["to"]["fiscal_year"])), variant(fiscal_year=True),
             variant(reference="P-2"), variant(reference=""), variant(reference=None), variant(division="652722"),
             variant(extra=1), variant(reference=["P-1"]), variant(division=["652722"]), variant(fiscal_year=[2017]),
             {**data, "to": short}, {**data, "to": "not a key"}, {**data, "to": [1, 2]},
             {**data, "document_date": "2017-02-30"}, {**data, "document_date": None},
             {**variant(reference=""), "document_date": "bad"}]
    for case in cases:
        assert outcome(reader.posting, case) == outcome(Posting.from_dict, case), case
    assert outcome(reader.posting, cases[0])[0] is not Posting  # 2018.0 is refused, not taken for 2018


def test_explained_by_is_the_last_posting_of_each_account_however_its_division_was_written():
    world = World()
    world.money_to_jinghe(1_000)
    world.commit("P-1", 300)
    world.commit("P-2", 300)
    last = world.funds.events[-1]
    last["data"]["from"]["division"] = "652722"  # the same account written as a prefix; the chain is
    funds = replay(world.loaded(), verify=False).rebuilt.funds  # not verified here, only the rebuild
    assert funds.explained_by[key(JINGHE, "available")] == last["seq"]
    assert funds.balances[key(JINGHE, "available")] == 400


def test_an_event_with_postings_is_of_no_other_kind_the_funds_rebuild_reads():
    """The funds rebuild reads an event's postings and then stops (its fast path for nearly every
    event): no posting event type may also be a deadline, payment or reconciliation event."""
    from services.audit.rebuild.funds import _TRANSITIONS
    from services.funds.contract import (DEADLINE_SET, PAYMENT_EVENT_TYPES, POSTING_EVENT_TYPES,
                                         RECONCILIATION_RECORDED)

    assert not POSTING_EVENT_TYPES & (PAYMENT_EVENT_TYPES | {DEADLINE_SET, RECONCILIATION_RECORDED} | set(_TRANSITIONS))
