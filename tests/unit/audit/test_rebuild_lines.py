"""The funds rebuild from export lines (``FundsRebuild.apply_line``, what the split replay runs):
a single posting's event in the usual form is decoded typed, any other line is read as
``apply`` reads it — and either way the rebuild comes out exactly as ``apply`` of the event."""

from __future__ import annotations

import copy

import pytest

from services.audit.export import loads
from services.audit.rebuild import funds as funds_rebuild
from services.audit.rebuild.funds import FundsRebuild
from services.funds.contract import DEADLINE_SET, DISBURSEMENT_BATCH_POSTED, batch_event_data
from shared.events.chain import canonical_json
from tests.unit.audit.logs import JINGHE, World

HOUSEHOLD = {"kind": "household", "name": "户主", "household_id": "h-1"}


def _world() -> World:
    world = World()
    world.money_to_jinghe(10_000)
    world.commit("P-1", 5_000, purpose="industry_development")
    world.disburse("P-1", 1_000, HOUSEHOLD)
    world.disburse("P-1", 800, {"kind": "cooperative", "name": "合作社"})
    world.funds.add(DEADLINE_SET, "d-1", {"id": "d-1", "receiver": JINGHE, "kind": "allocate_onward", "due": "2017-04-01",
                                          "rule_id": "R1", "citation": "财农〔2017〕1号"})
    world.funds.add(DISBURSEMENT_BATCH_POSTED, "b-1", batch_event_data(
        batch_ref="b-1", part=1, parts=1, division=JINGHE, role="finance", channel="central_special", fiscal_year=2017,
        document_no="", document_date="2017-03-02", actor="test",
        rows=[["p-b1", "l-1", "P-1", "household", "户主", "h-2", 300, "industry_development"]]))
    return world


def _usual() -> dict:
    """A disbursement event as the service writes it (the form decoded typed)."""
    return copy.deepcopy(next(e for e in _world().funds.events if e["data"].get("payee") == HOUSEHOLD))


def _variant(**changes) -> dict:
    """The usual disbursement with ``data`` changed: ``to``/``from`` merged, a value of None deleted."""
    event = _usual()
    data = event["data"]
    for name, value in changes.items():
        if name in ("to", "from_") and isinstance(value, dict):
            target = data["to" if name == "to" else "from"]
            for k, v in value.items():
                target.pop(k) if v is _DELETE else target.__setitem__(k, v)
        elif value is _DELETE:
            data.pop(name)
        else:
            data["from" if name == "from_" else name] = value
    return event


_DELETE = object()


def _state(rebuild: FundsRebuild):
    built = rebuild.result()
    return (rebuild.events, built.postings, built.unreadable, built.refused, dict(built.balances), built.explained_by,
            built.deadlines, built.payments, built.reconciliations)


def _outcome(apply, lines: list[bytes]):
    rebuild = FundsRebuild()
    try:
        for line in lines:
            apply(rebuild, line)
    except Exception as error:  # noqa: BLE001 — compared by type and message
        return type(error), str(error)
    return _state(rebuild)


def _both(lines: list[bytes]):
    return (_outcome(lambda rebuild, line: rebuild.apply(loads(line)), lines),
            _outcome(FundsRebuild.apply_line, lines))


def test_a_whole_log_rebuilds_the_same_from_its_lines():
    lines = [canonical_json(event).encode() for event in _world().funds.events]
    by_event, by_line = _both(lines)
    assert by_line == by_event
    assert len(by_line[1]) == 7 and by_line[0] == 8  # every posting, the batch's included; every event counted


VARIANTS = {
    "a version-1 disbursement (its reference the line's)": _variant(reference="line-7"),
    "a year that merely equals an int": _variant(to={"fiscal_year": 2017.0}),
    "a year that is a bool": _variant(from_={"fiscal_year": True}),
    "an unknown field in an account": _variant(to={"extra": 1}),
    "an account without its reference": _variant(to={"reference": _DELETE}),
    "an account that is not an object": _variant(to="652722000000:finance"),
    "an account that is a list": _variant(from_=[1, 2]),
    "a division that is no division": _variant(to={"division": "99"}),
    "a division written as its prefix": _variant(from_={"division": "652722"}),
    "a division that is a number": _variant(to={"division": 652722000000}),
    "a reference that is not text": _variant(to={"reference": ["h-1"]}),
    "a date that does not exist": _variant(document_date="2017-02-30"),
    "no date": _variant(document_date=None),
    "an amount as text": _variant(amount_fen="1000"),
    "a negative amount": _variant(amount_fen=-5),
    "no posting id": _variant(posting_id=_DELETE),
    "no purpose member": _variant(purpose=_DELETE),
    "no payee member": _variant(payee=_DELETE),
    "data that is a list": {**_usual(), "data": [1, 2]},
    "an unknown event type": {**_usual(), "type": "funds.something.else"},
}


@pytest.mark.parametrize("event", VARIANTS.values(), ids=VARIANTS.keys())
def test_any_form_of_a_posting_event_rebuilds_as_apply_does(event):
    world = _world()
    lines = [canonical_json(e).encode() for e in world.funds.events] + [canonical_json(event).encode()]
    by_event, by_line = _both(lines)
    assert by_line == by_event


def test_a_line_that_is_not_json_or_not_an_event_fails_as_apply_does():
    usual = canonical_json(_usual()).encode()
    for line in (b"{not json", usual[:-1], usual.replace(b'"data":', b'"dat":')):
        by_event, by_line = _both([line])
        assert by_line == by_event and isinstance(by_event[0], type)


def test_only_the_usual_form_skips_the_general_reading(monkeypatch):
    """So that the test above compares two paths, not one: the usual disbursement, commitment and
    allocation are built from typed fields; the batch, a deadline and a version-1 disbursement are
    read as apply reads them."""
    read = []
    general = funds_rebuild._read_members
    monkeypatch.setattr(funds_rebuild, "_read_members", lambda line: read.append(loads(line)["type"]) or general(line))
    rebuild = FundsRebuild()
    for event in _world().funds.events:
        rebuild.apply_line(canonical_json(event).encode())
    assert read == [DEADLINE_SET, DISBURSEMENT_BATCH_POSTED]
    rebuild.apply_line(canonical_json(VARIANTS["a version-1 disbursement (its reference the line's)"]).encode())
    assert len(read) == 3


def test_a_payment_return_names_its_payee_by_reference_and_is_kept_a_disbursement_may_not():
    """The funds service writes a payment return's payee as the payee's reference (text); only a
    disbursement's payee is read (compliance: who was paid), and must be an object."""
    from tests.unit.audit.logs import key

    world = _world()
    payee = "household:h-1"
    world.post("payment_return", key(JINGHE, "disbursed", payee), key(JINGHE, "committed", "P-1"), 100,
               payee=payee, project_code="P-1", instruction_id="i-1")
    lines = [canonical_json(e).encode() for e in world.funds.events]
    lines.append(canonical_json(_variant(payee=payee)).encode())
    by_event, by_line = _both(lines)
    assert by_line == by_event
    postings, unreadable = by_line[1], by_line[2]
    assert postings[-1].posting.operation == "payment_return" and postings[-1].payee == payee
    assert [seq for seq, _ in unreadable] == [_usual()["seq"]] and "payee='household:h-1'" in unreadable[0][1]
