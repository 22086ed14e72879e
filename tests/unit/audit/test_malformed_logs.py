"""The audit does not trust the logs it reads: an event that is not an event, or whose data is not
what its type says, is a problem in the report — never an error that stops the audit. Every member
of every event of a world's three logs is replaced by values of other types, or removed."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from services.audit.diff import within_rebuild
from services.audit.run import replay
from services.audit.verify import READ_MEMBERS, envelope_problem
from services.funds.contract import DEADLINE_SET
from shared.events.chain import compute_hash
from tests.unit.audit.logs import JINGHE, World

OTHER_VALUES = ([1], "x", None, 5, {}, True, 10**20)
_REMOVED = object()


def _world() -> World:
    world = World()
    world.money_to_jinghe()
    world.commit("P-1", 100)
    world.disburse("P-1", 40, {"kind": "household", "name": "户主", "household_id": "h-1"})
    world.funds.add(DEADLINE_SET, "d-1", {"id": "d-1", "receiver": JINGHE, "kind": "allocate_onward",
                                          "due": "2017-04-01", "rule_id": "R1", "citation": "x"})
    household = world.household("6527221022010001")
    world.registry.add("registry.household.monitored", household, {"category": "unstable_exited"})
    world.projects.add("projects.project.proposed", "P-1", {"code": "P-1", "division": JINGHE, "name": "枸杞"})
    world.projects.add("projects.publicity.posted", "a-1", {"codes": ["P-1"], "to": "in_publicity"})
    return world


WORLD = _world()
CASES = [(service, index, member)
         for service in ("funds", "registry", "projects")
         for index, event in enumerate(getattr(WORLD, service).events)
         for member in [*event, *(f"data.{name}" for name in event["data"])]]


def _changed(service: str, index: int, member: str, value, *, rehash: bool) -> World:
    world = copy.deepcopy(WORLD)
    event = getattr(world, service).events[index]
    target, name = (event["data"], member[5:]) if member.startswith("data.") else (event, member)
    if value is _REMOVED:
        del target[name]
    else:
        target[name] = value
    if rehash:  # as the service would have written it: a valid chain of malformed data
        events = getattr(world, service).events
        for at in range(index, len(events)):
            if at > index:
                events[at]["prev_hash"] = events[at - 1]["hash"]
            events[at]["hash"] = compute_hash(events[at])
    return world


@pytest.mark.parametrize("service,index,member", CASES)
def test_any_member_of_any_event_of_another_type_or_removed_is_reported_not_raised(service, index, member):
    original = getattr(WORLD, service).events[index]
    original = original["data"].get(member[5:]) if member.startswith("data.") else original[member]
    for value in (*OTHER_VALUES, _REMOVED):
        if value is not _REMOVED and type(value) is type(original) and value == original:
            continue  # not a change
        world = _changed(service, index, member, value, rehash=False)
        replayed = replay(world.loaded())  # never raises
        chain = replayed.chains[service]
        seq, first = index + 1, chain.problems[0]
        if member == "seq" and type(value) is int:  # another place in the log: a gap, or a duplicate
            assert first.kind in ("gap", "order"), chain.problems
            continue
        assert not chain.ok and first.seq in (seq, None), (value, chain.problems)
        assert first.kind in ("malformed", "hash", "link"), chain.problems
        kind = {**READ_MEMBERS, "causation_id": str}.get(member)
        if kind is not None and (value is _REMOVED or type(value) is not kind and not (
                member == "causation_id" and value is None)):
            assert first.kind == "malformed", (value, chain.problems)  # the verifier reads it: named as such
        replay(world.loaded(), verify=False)  # the as-of pass: never raises either


@pytest.mark.parametrize("service,index,member", [c for c in CASES if c[2] == "data" or c[2].startswith("data.")])
def test_data_the_rebuild_cannot_read_is_an_unreadable_event_in_a_valid_chain(service, index, member):
    """The service itself hashed it (the chain is valid): the rebuild keeps its seq and why, and the
    audit lists it as a discrepancy of that service."""
    seq = index + 1
    for value in OTHER_VALUES[:-1]:  # (not 10**20: beyond I-JSON, no service can have hashed it)
        replayed = replay(_changed(service, index, member, value, rehash=True).loaded())
        assert replayed.chains[service].ok, replayed.chains[service].problems
        part = getattr(replayed.rebuilt, service)
        listed = [d for d in within_rebuild(replayed.rebuilt) if d.kind == "unreadable_event"]
        assert [(d.service, d.seq) for d in listed] == [(service, s) for s, _ in part.unreadable_events]
        assert {s for s, _ in part.unreadable_events} <= {seq}


def test_an_import_with_no_households_member_is_an_unreadable_event():
    index = next(i for i, e in enumerate(WORLD.registry.events) if e["type"] == "registry.households.imported")
    replayed = replay(_changed("registry", index, "data.households", _REMOVED, rehash=True).loaded())
    assert [s for s, _ in replayed.rebuilt.registry.unreadable_events] == [index + 1]
    assert replayed.rebuilt.registry.summary()["unreadable_events"] == 1
    (listed,) = [d for d in within_rebuild(replayed.rebuilt) if d.kind == "unreadable_event"]
    assert listed.as_dict()["service"] == "registry" and listed.as_dict()["detail"] == (
        "ValidationError: Object missing required field `households`; the event is not in the rebuild")


def test_a_malformed_event_with_a_usable_seq_keeps_its_place_in_the_chain():
    world = copy.deepcopy(WORLD)
    world.funds.events[2]["id"] = ["not", "an", "id"]
    chain = replay(world.loaded()).chains["funds"]
    assert [(p.kind, p.seq) for p in chain.problems] == [("malformed", 3)]  # no gap, no broken link after it
    assert chain.checked == len(world.funds.events)


T = "2017-03-01T02:00:00.000000Z"


@pytest.mark.parametrize("event,why", [
    ({"seq": 1}, "no 'hash' member"),
    ({"seq": True, "hash": "h", "prev_hash": "p", "id": "i", "time": T, "causation_id": None},
     "'seq' is a boolean, not a number"),
    ({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": T}, "no 'causation_id' member"),
    ({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": T, "causation_id": 5},
     "'causation_id' is a number, not a string"),
    ({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": "2017-02-30T02:00:00Z", "causation_id": None},
     "'time' is '2017-02-30T02:00:00Z', not a UTC time (YYYY-MM-DDThh:mm:ss[.ffffff]Z)"),
    ({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": "", "causation_id": None},
     "'time' is '', not a UTC time (YYYY-MM-DDThh:mm:ss[.ffffff]Z)"),
    ({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": "9999-12-31T20:00:00Z", "causation_id": None},
     "'time' is '9999-12-31T20:00:00Z', not a UTC time (YYYY-MM-DDThh:mm:ss[.ffffff]Z)"),
    ([1, 2], "not a JSON object but an array"),
    (None, "not a JSON object but null"),
])
def test_envelope_problem_names_the_member_and_why(event, why):
    assert envelope_problem(event) == why
    assert envelope_problem({"seq": 1, "hash": "h", "prev_hash": "p", "id": "i", "time": T, "causation_id": None}) is None


def _rich_world() -> World:
    """Every kind of event the audit's checks read: postings, deadlines, payments, a
    reconciliation, households with decisions, announcements, a grievance, projects."""
    from tests.unit.audit.test_compliance import clean_world

    world = clean_world()
    funds, registry, projects = world.funds, world.registry, world.projects
    funds.add(DEADLINE_SET, "d-1", {"id": "d-1", "receiver": JINGHE, "kind": "allocate_onward", "due": "2017-04-01",
                                    "rule_id": "R1", "citation": "x", "amount_fen": 5, "basis_seq": 1})
    funds.add("funds.deadline.met", "d-1", {"met_on": "2017-03-05"})
    posting = funds.events[-3]["data"]["posting_id"]
    funds.add("funds.payment.instructed", "i-1", {"id": "i-1", "division": JINGHE, "posting_id": posting,
                                                  "amount_fen": 100, "state": "instructed"})
    funds.add("funds.payment.refused", "i-1", {"state": "refused", "returned_posting": None})
    funds.add("funds.reconciliation.recorded", "r-1", {"division": JINGHE, "on": "2017-03-31", "account_no": "62",
                                                       "differences": [{"kind": "missing_in_ledger"}]})
    household = next(iter(world.registry.events))["data"]["households"][0][0]
    registry.add("registry.household.exit_confirm", household, {"action": "exit-confirm", "decision": "approve",
                                                                 "to": "exited", "on": "2017-12-01"})
    registry.add("registry.announcement.drafted", "a-1", {"subject_type": "household", "division": JINGHE})
    registry.add("registry.announcement.closed", "a-1", {"outcome": "passed"})
    registry.add("registry.grievance.received", "g-1", {
        "receipt": "R-1", "division": JINGHE, "status": "received", "accept_by": "2017-03-10",
        "answer_by": "2017-04-10", "rule": {"id": "G1", "citation": "x"}, "received_on": "2017-03-03"})
    registry.add("registry.grievance.answer", "g-1", {"status": "answered", "on": "2017-03-20"})
    projects.add("projects.project.proposed", "P-1", {"code": "P-1", "division": JINGHE, "name": "枸杞"})
    projects.add("projects.beneficiaries.added", "P-1", {"code": "P-1", "household_ids": [household]})
    projects.add("projects.acceptance.recorded", "P-1", {"code": "P-1", "result": "passed"})
    return world


RICH = _rich_world()


def _paths(value, prefix=()):
    """Every member and item (the first two of a list) below ``value``, as paths."""
    items = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*prefix, key)
        yield from _paths(inner, (*prefix, key))


@pytest.mark.parametrize("service", ["funds", "registry", "projects"])
def test_a_whole_audit_of_data_of_any_type_at_any_depth_reports_and_never_raises(service):
    """The audit as the API runs it (replay, compliance, figures, the rebuild's own discrepancies),
    over logs the services could have hashed themselves: each member at any depth of each event's
    data replaced by a value of another type, by text no code or date is (empty, "0", 2017-02-30),
    or removed."""
    import asyncio
    import json


    from services.audit.run import run_audit
    from shared.policy import load_policy

    policy = load_policy()
    events = getattr(RICH, service).events
    for index, event in enumerate(events):
        for path in list(_paths(event["data"])):
            for value in (*OTHER_VALUES[:-1], "", "0", "2017-02-30", _REMOVED):
                world = copy.deepcopy(RICH)
                log = getattr(world, service).events
                target = log[index]["data"]
                for key in path[:-1]:
                    target = target[key]
                if value is _REMOVED:
                    if not isinstance(target, dict):
                        continue
                    del target[path[-1]]
                else:
                    target[path[-1]] = value
                for at in range(index, len(log)):  # the chain as the service would have written it
                    log[at]["prev_hash"] = log[at - 1]["hash"] if at else log[at]["prev_hash"]
                    log[at]["hash"] = compute_hash(log[at])
                result = asyncio.run(run_audit(world.loaded(), as_of=date(2018, 6, 30), division=None, policy=policy))
                json.dumps(result.as_dict(), default=str)  # a report can be written
                assert result.chains and all(c.ok for c in result.chains), (path, value)


def test_a_household_the_registrys_statistics_refuse_is_left_out_and_named():
    world = copy.deepcopy(RICH)
    row = world.registry.events[0]["data"]["households"][0]
    row[2] = "65"  # a division, but no village: the registry could not have registered it there
    events = world.registry.events
    for at, event in enumerate(events):
        event["prev_hash"] = events[at - 1]["hash"] if at else event["prev_hash"]
        event["hash"] = compute_hash(event)
    rebuilt = replay(world.loaded()).rebuilt
    assert rebuilt.registry.statistics("", 2017).registered.households == 0
    (listed,) = [d.as_dict() for d in within_rebuild(rebuilt) if d.kind == "refused_household"]
    assert (listed["service"], listed["subject"]) == ("registry", f"household {row[1]}")
    assert "12-digit village code" in listed["detail"] and listed["detail"].endswith("left out of the statistics")


def test_a_negative_rural_population_is_an_unreadable_event_and_the_figures_are_computed():
    from services.audit.figures import figures
    from services.registry.contract import DIVISIONS_LOADED

    world = copy.deepcopy(RICH)
    world.registry.add(DIVISIONS_LOADED, "divisions", {"records": [
        {"code": "652722102201", "level": "village", "rural_population": -1}]})
    replayed = replay(world.loaded())
    assert [s for s, _ in replayed.rebuilt.registry.unreadable_events] == [len(world.registry.events)]
    assert replayed.rebuilt.registry.population == {}
    figures(replayed.rebuilt, "", date(2018, 6, 30))  # computed, not raised


def test_a_project_whose_division_is_null_is_of_no_known_division():
    world = copy.deepcopy(RICH)
    world.projects.add("projects.project.proposed", "P-9", {"code": "P-9", "division": None, "name": "x"})
    assert replay(world.loaded()).rebuilt.projects.projects["P-9"].division == ""


def test_the_objections_count_skips_what_is_not_an_event_of_its_type():
    from services.audit.scores import objections_upheld
    from services.audit.sources import Loaded

    upheld = {"type": "registry.objection.resolved", "subject": "a-1", "time": "2017-06-01T02:00:00.000000Z",
              "data": {"decision": "upheld"}}
    drafted = {"type": "registry.announcement.drafted", "subject": "a-1", "time": "2017-05-01T02:00:00.000000Z",
               "data": {"division": JINGHE}}
    strays = ["not json", {"type": 5}, {**upheld, "data": [1]}, {**upheld, "time": "2017-02-30T00:00:00Z"}, {}]
    loaded = Loaded("test", {"registry": [drafted, *strays, upheld]})
    assert objections_upheld(loaded, "652722", 2017) == 1
