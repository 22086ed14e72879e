"""An export replayed over processes (``replay_export``: the funds log read and verified in one
process, rebuilt in another from the lines verified there; the other logs in workers) finds
exactly what the one-process ``replay`` finds — every kind of tampering — and rebuilds the same
figures: a changed field, keys reordered, a removed event, a changed prev_hash, a tail rewritten
with valid hashes (caught by a signed checkpoint), a refused posting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.audit.checkpoints import Outside
from services.audit.export import write_export
from services.audit.run import replay, replay_export
from services.audit.sources import ExportSource
from shared.events.chain import canonical_json, compute_hash
from shared.events.merkle import event_leaf, root
from shared.events.note import Checkpoint, Signer, sign_note
from tests.unit.audit.logs import World

ORIGIN = "fupin.test/funds"
SIGNER = Signer.generate(ORIGIN)


@pytest.fixture
def world() -> World:
    world = World()
    world.money_to_jinghe(10_000_000)
    world.commit("P-1", 5_000_000, purpose="industry_development")
    for n in range(40):
        world.disburse("P-1", 1_000 + n, {"kind": "household", "name": "户主", "household_id": f"h-{n}"},
                       purpose="industry_development")
    world.household("6527221022010001")
    world.household("6527221022010002", measures=2)
    return world


def export(directory: Path, world: World) -> ExportSource:
    write_export(directory, {"funds": world.funds.events, "registry": world.registry.events},
                 source="test", created_at="2017-03-01T10:00:00+08:00")
    return ExportSource(directory)


def lines_of(directory: Path, service: str = "funds") -> list[bytes]:
    return (directory / f"{service}.jsonl").read_bytes().splitlines()


def rewrite(directory: Path, lines: list[bytes], service: str = "funds") -> None:
    (directory / f"{service}.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def both(source: ExportSource, outside: Outside | None = None, processes: int = 2, **options):
    """(one process, over processes), after checking that they agree on everything found and rebuilt."""
    alone = replay(source, outside=outside, **options)
    spread = replay_export(source, processes=processes, outside=outside, **options)
    assert {s: c.as_dict() for s, c in spread.chains.items()} == {s: c.as_dict() for s, c in alone.chains.items()}
    assert spread.rebuilt.summary() == alone.rebuilt.summary()
    if alone.rebuilt.funds is not None:
        assert spread.rebuilt.funds.postings == alone.rebuilt.funds.postings
        assert spread.rebuilt.funds.balances == alone.rebuilt.funds.balances
        assert spread.rebuilt.funds.refused == alone.rebuilt.funds.refused
    if alone.rebuilt.registry is not None:
        assert spread.rebuilt.registry.households == alone.rebuilt.registry.households
    assert spread.references.unresolved() == alone.references.unresolved()
    assert spread.last_recorded == alone.last_recorded
    return alone, spread


def problems(replayed, service: str = "funds") -> list[tuple[str, int | None]]:
    return [(p.kind, p.seq) for p in replayed.chains[service].problems]


def test_a_clean_export_verifies_and_rebuilds_the_same_over_processes(tmp_path, world):
    source = export(tmp_path, world)
    assert source.path("funds").stat().st_size > source.path("registry").stat().st_size  # funds is split
    _, spread = both(source)
    assert all(chain.ok for chain in spread.chains.values())
    funds = spread.rebuilt.funds
    assert len(funds.postings) == 44 and not funds.refused and sum(funds.balances.values()) == 0
    assert len(spread.rebuilt.registry.households) == 2


def test_a_changed_field_is_a_hash_problem_at_its_seq(tmp_path, world):
    export(tmp_path, world)
    lines = lines_of(tmp_path)
    event = json.loads(lines[9])
    event["data"]["amount_fen"] += 1  # more money paid out than the service recorded; the stored hash kept
    lines[9] = canonical_json(event).encode()
    rewrite(tmp_path, lines)
    source = ExportSource(tmp_path)
    _, spread = both(source)
    assert problems(spread) == [("hash", 10)]
    assert "funds" in source.digest_notes()


def test_reordered_keys_keep_the_content_but_not_the_exported_bytes(tmp_path, world):
    """RFC 8785 hashes the content, not the order of keys: a line rewritten with its keys in
    another order still carries the event the service hashed (the chain verifies it), but the
    export is not the one made (its digest is not the manifest's), and any value changed on the
    way is a hash problem."""
    export(tmp_path, world)
    lines = lines_of(tmp_path)
    event = json.loads(lines[12])
    reordered = dict(reversed(list(event.items())))
    reordered["data"] = dict(reversed(list(event["data"].items())))
    lines[12] = json.dumps(reordered, ensure_ascii=False, separators=(",", ":")).encode()
    assert lines[12] != canonical_json(event).encode() and json.loads(lines[12]) == event
    rewrite(tmp_path, lines)
    source = ExportSource(tmp_path)
    alone, _ = both(source)
    assert problems(alone) == []
    assert "funds" in source.digest_notes()

    reordered["data"]["amount_fen"] += 1
    lines[12] = json.dumps(reordered, ensure_ascii=False, separators=(",", ":")).encode()
    rewrite(tmp_path, lines)
    _, spread = both(ExportSource(tmp_path))
    assert problems(spread) == [("hash", 13)]


def test_a_removed_event_is_a_gap_in_the_middle_and_against_the_manifest_at_the_end(tmp_path, world):
    export(tmp_path, world)
    lines = lines_of(tmp_path)
    rewrite(tmp_path, lines[:20] + lines[21:])
    _, spread = both(ExportSource(tmp_path))
    assert problems(spread) == [("gap", 21), ("manifest", None)]

    rewrite(tmp_path, lines[:-1])
    _, spread = both(ExportSource(tmp_path))
    assert problems(spread) == [("gap", len(lines)), ("manifest", None)]


def test_a_changed_prev_hash_breaks_the_link_and_the_hash(tmp_path, world):
    export(tmp_path, world)
    lines = lines_of(tmp_path)
    event = json.loads(lines[30])
    event["prev_hash"] = "f" * 64
    lines[30] = canonical_json(event).encode()
    rewrite(tmp_path, lines)
    _, spread = both(ExportSource(tmp_path))
    assert problems(spread) == [("link", 31), ("hash", 31)]


def test_a_tail_rewritten_with_valid_hashes_is_caught_by_a_signed_checkpoint(tmp_path, world):
    events = world.funds.events
    size = 25
    note = sign_note(Checkpoint(ORIGIN, size, root([event_leaf(e["hash"]) for e in events[:size]])).body(), [SIGNER])
    events[19]["data"]["amount_fen"] += 100  # seq 20 rewritten, then every later hash recomputed
    for previous, event in zip(events[18:], events[19:]):
        event["prev_hash"] = previous["hash"]
        event["hash"] = compute_hash(event)
    source = export(tmp_path, world)  # and the manifest written anew: the export alone is consistent
    assert all(chain.ok for chain in both(source)[1].chains.values()) and source.digest_notes() == {}
    outside = Outside.of([("funds-25.txt", note)], [SIGNER.verifier()], {ORIGIN: "funds"})
    _, spread = both(source, outside)
    assert problems(spread) == [("rewritten", 25)]
    assert "inconsistent with checkpoint funds-25.txt" in spread.chains["funds"].problems[0].detail


def test_a_refused_posting_and_a_cut_off_date_rebuild_the_same_over_processes(tmp_path, world):
    world.commit("P-2", 10**9)  # beyond what is available: the ledger refuses it
    source = export(tmp_path, world)
    _, spread = both(source)
    assert [code for _, code, _ in spread.rebuilt.funds.refused] == ["insufficient_funds"]
    until = world.funds.events[20]["time"]
    _, early = both(source, until=until)
    assert len(early.rebuilt.funds.postings) == 20 and early.chains["funds"].checked == len(world.funds.events)


@pytest.mark.parametrize("processes", [2, 3])
def test_the_other_log_tampered_is_found_and_rebuilt_the_same_over_processes(tmp_path, world, processes):
    export(tmp_path, world)
    lines = lines_of(tmp_path, "registry")
    event = json.loads(lines[1])
    event["data"]["name"] = "另一个帮扶干部"  # the stored hash kept
    lines[1] = canonical_json(event).encode()
    rewrite(tmp_path, lines[:3] + lines[4:], "registry")
    _, spread = both(ExportSource(tmp_path), processes=processes)
    assert problems(spread, "registry") == [("hash", 2), ("gap", 4), ("manifest", None)]
    assert problems(spread) == []  # and its households as one process rebuilds them (both)


@pytest.mark.parametrize("service", ["funds", "registry"])
@pytest.mark.parametrize("processes", [2, 3])
def test_a_line_that_is_not_an_event_is_a_problem_where_it_stands_over_processes_as_in_one(tmp_path, world, service,
                                                                                           processes):
    """Not JSON, not an object, an envelope member of another type: a ``malformed`` problem at its
    place, and the replay goes on (the funds log verified in one process and rebuilt in another,
    the registry's in a pool worker). With a usable seq it keeps its place in the chain."""
    export(tmp_path, world)
    lines = lines_of(tmp_path, service)
    fourth = json.loads(lines[3])
    lines[1] = b'{"seq": 2, not json'
    lines[2] = b"[1, 2]"
    lines[3] = canonical_json({**fourth, "time": 20170301}).encode()  # the hash no longer matches either
    rewrite(tmp_path, lines, service)
    _, spread = both(ExportSource(tmp_path), processes=processes)
    assert problems(spread, service) == [("malformed", None), ("malformed", None), ("malformed", 4), ("gap", 2),
                                         ("manifest", None)]
    assert "is not an event: not JSON (JSONDecodeError" in spread.chains[service].problems[0].detail
    assert spread.chains[service].problems[2].detail == "seq 4 is not an event: 'time' is a number, not a string"


@pytest.mark.parametrize("processes", [2, 3])
def test_a_worker_that_fails_raises_its_error_here_not_a_hang(tmp_path, world, processes):
    source = export(tmp_path, world)
    (tmp_path / "registry.jsonl").unlink()  # after the source read its manifest: the worker cannot open it
    with pytest.raises(FileNotFoundError):
        replay(source)
    with pytest.raises(FileNotFoundError):  # the pool worker's error, raised here
        replay_export(source, processes=processes)
    (tmp_path / "registry.jsonl").write_bytes(b"")
    (tmp_path / "funds.jsonl").unlink()
    (tmp_path / "funds.jsonl").mkdir()  # still the largest, but no file to read
    with pytest.raises(Exception, match="IsADirectoryError"):  # the funds-verifying worker's, raised here
        replay_export(source, processes=processes)


def test_the_as_of_pass_over_an_export_rebuilds_what_the_verifying_pass_rebuilds(tmp_path, world):
    """The pass that does not verify reads fewer members of each line (seq, time and the
    rebuilder's): it still places and applies every event."""
    source = export(tmp_path, world)
    _, spread = both(source, verify=False)
    assert spread.rebuilt.funds.postings == replay(source).rebuilt.funds.postings
    assert len(spread.rebuilt.funds.postings) == 44 and len(spread.rebuilt.registry.households) == 2


@pytest.mark.parametrize("processes", [2, 3])
def test_bytes_that_are_not_text_in_a_member_the_verifier_skips_are_a_hash_problem(tmp_path, world, processes):
    export(tmp_path, world)
    lines = lines_of(tmp_path)
    assert b'"sub":"test"' in lines[4]
    lines[4] = lines[4].replace(b'"sub":"test"', b'"sub":"t\xffst"')  # the actor: read by neither process
    rewrite(tmp_path, lines)
    _, spread = both(ExportSource(tmp_path), processes=processes)
    assert problems(spread)[:2] == [("malformed", None), ("gap", 5)]  # as a reader of the whole line finds it
    assert "not JSON" in spread.chains["funds"].problems[0].detail


@pytest.mark.parametrize("processes", [2, 3])
def test_data_nested_deeper_than_any_reader_goes_is_a_problem_not_an_error(tmp_path, world, processes):
    export(tmp_path, world)
    lines = lines_of(tmp_path, "registry")
    event = json.loads(lines[1])
    deep = b"[" * 5000 + b"]" * 5000
    lines[1] = canonical_json({**event, "data": {}}).encode().replace(b'"data":{}', b'"data":' + deep)
    rewrite(tmp_path, lines, "registry")
    _, spread = both(ExportSource(tmp_path), processes=processes)
    assert problems(spread, "registry")[:2] == [("malformed", None), ("gap", 2)]


def test_a_manifest_whose_ends_are_not_numbers_is_a_manifest_problem(tmp_path, world):
    export(tmp_path, world)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["services"]["funds"]["last_seq"] = str(manifest["services"]["funds"]["last_seq"])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    _, spread = both(ExportSource(tmp_path))
    assert problems(spread) == [("manifest", None)]
