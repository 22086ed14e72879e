"""The hash chain, pure: canonical JSON against the rfc8785 reference, hashes, verification."""

import copy

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.chain import GENESIS, HASHED_FIELDS, canonical_body, canonical_json, compute_hash, hash_event, verify_chain
from shared.events.store import _canonical_envelope

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(), st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(json_values)
def test_canonical_json_is_rfc8785(value):
    assert canonical_json(value).encode("utf-8") == rfc8785.dumps(value)


def test_keys_sort_by_utf16_code_units_like_rfc8785():
    value = {"\U0001f600": 1, "\ufb01": 2, "a": 3}  # astral vs. BMP above the surrogates
    assert canonical_json(value).encode() == rfc8785.dumps(value)
    assert list(__import__("json").loads(canonical_json(value))) == ["a", "\U0001f600", "\ufb01"]


def chain(n: int) -> list[dict]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        event = {"seq": seq, "id": f"id-{seq}", "source": "funds", "type": "funds.x", "subject": "s",
                 "time": "2026-11-23T04:31:08.000001Z", "actor": {"sub": "a"}, "correlation_id": "c",
                 "causation_id": None, "data": {"amount": "1.00", "seq": seq}, "prev_hash": prev}
        event["hash"] = compute_hash(event)
        prev = event["hash"]
        events.append(event)
    return events


def test_the_store_assembles_the_same_canonical_body():
    event = chain(1)[0]
    assembled = _canonical_envelope(
        actor=canonical_json(event["actor"]), causation_id=None, correlation_id="c",
        data=canonical_json(event["data"]), id="id-1", prev_hash=GENESIS, seq=1, source="funds",
        subject="s", time=event["time"], type="funds.x",
    )
    assert assembled == canonical_body(event).encode()
    assert hash_event(GENESIS, assembled.decode()) == event["hash"]


@settings(max_examples=300)
@given(st.text(), st.text(), st.one_of(st.none(), st.text()), st.text(), json_values, json_values)
def test_the_assembled_body_is_canonical_for_any_strings(subject, type_, causation, correlation, actor, data):
    event = {"seq": 7, "id": "0190a0b0-0000-7000-8000-000000000001", "source": "registry", "type": type_,
             "subject": subject, "time": "2026-12-03T04:31:08.000001Z", "actor": actor, "data": data,
             "correlation_id": correlation, "causation_id": causation, "prev_hash": GENESIS}
    expected = rfc8785.dumps({field: event[field] for field in HASHED_FIELDS})
    assembled = _canonical_envelope(
        actor=canonical_json(actor), causation_id=causation, correlation_id=correlation,
        data=canonical_json(data), id=event["id"], prev_hash=GENESIS, seq=7, source="registry",
        subject=subject, time=event["time"], type=type_,
    )
    assert assembled == expected


def test_orjson_escapes_every_code_point_as_rfc8785():
    """canonical_json's fast path (orjson) against the reference, one string per code point."""
    for start in range(0, 0x110000, 4096):
        chars = [chr(c) for c in range(start, start + 4096) if not 0xD800 <= c < 0xE000]
        value = {"s": chars, "t": "x".join(chars)}
        assert canonical_json(value).encode() == rfc8785.dumps(value)


def test_a_sound_chain_verifies():
    report = verify_chain(chain(10))
    assert report.ok and report.checked == 10 and report.last_seq == 10 and report.first_bad_seq is None


def test_changed_content_is_found_at_its_seq():
    events = chain(10)
    events[6]["data"]["amount"] = "1000000.00"
    report = verify_chain(events)
    assert not report.ok and report.first_bad_seq == 7 and "content" in report.reason


def test_recomputed_hash_breaks_the_next_link():
    events = chain(10)
    events[6]["data"]["amount"] = "9.99"
    events[6]["hash"] = compute_hash(events[6])  # a forger re-hashes the changed event
    report = verify_chain(events)
    assert not report.ok and report.first_bad_seq == 8 and "prev_hash" in report.reason


def test_gap_reorder_and_duplicate_are_found():
    events = chain(6)
    assert verify_chain(events[:3] + events[4:]).first_bad_seq == 4
    swapped = events[:2] + [events[3], events[2]] + events[4:]
    assert verify_chain(swapped).first_bad_seq == 3
    assert "duplicate" in verify_chain(events[:3] + [copy.deepcopy(events[2])]).reason


def test_a_range_is_anchored_on_its_predecessor():
    events = chain(10)
    assert verify_chain(events[5:], expected_seq=6, expected_prev=events[4]["hash"]).ok
    assert not verify_chain(events[5:], expected_seq=6, expected_prev=GENESIS).ok
