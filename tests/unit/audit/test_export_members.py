"""Reading some members of each exported event (``export.members_reader``): what the verifying
process and the funds rebuild read of a line, every other member parsed and skipped. A line it
cannot read so is read whole, so it reads or fails exactly as :data:`export.loads` does."""

from __future__ import annotations

import pytest

from services.audit.export import loads, members_reader
from services.audit.rebuild.funds import FundsRebuild
from services.audit.run import VERIFIED_MEMBERS, members_read
from shared.events.chain import canonical_json

EVENT = {"actor": {"sub": "县财政局", "roles": ["county_finance"]}, "causation_id": None, "data": {"amount_fen": 100},
         "hash": "ab" * 32, "id": "e-1", "prev_hash": "00" * 32, "seq": 7, "source": "funds",
         "subject": "652722000000", "time": "2018-03-01T01:04:10.000000Z", "type": "funds.disbursement.posted"}


def test_only_the_named_members_are_built():
    read = members_reader(VERIFIED_MEMBERS)
    line = canonical_json(EVENT).encode()
    assert read(line) == {name: EVENT[name] for name in VERIFIED_MEMBERS}
    assert members_reader(FundsRebuild.members)(line) == {name: EVENT[name] for name in FundsRebuild.members}


def test_a_line_without_a_named_member_is_read_whole():
    event = {k: v for k, v in EVENT.items() if k != "causation_id"}
    line = canonical_json(event).encode()
    assert members_reader(VERIFIED_MEMBERS)(line) == loads(line) == event  # the verifier's KeyError, as before


@pytest.mark.parametrize("line", [b"{not json", b'{"seq": 1} trailing', b"",
                                  canonical_json(EVENT).encode().replace(b'"e-1"', b'"\xff"')])
def test_a_line_that_is_not_json_fails_as_loads_does(line):
    with pytest.raises(ValueError) as whole:
        loads(line)
    with pytest.raises(type(whole.value)):
        members_reader(VERIFIED_MEMBERS)(line)


def test_a_line_that_is_not_an_object_is_read_whole():
    assert members_reader(VERIFIED_MEMBERS)(b"[1, 2]") == [1, 2]  # the caller fails on it as before


def test_a_skipped_member_is_not_built_but_its_bytes_stay_in_the_line():
    """The one difference from loads: text inside a skipped member is not checked to be UTF-8
    (the line is hashed as bytes, so an altered byte there is still a hash problem)."""
    line = canonical_json(EVENT).encode().replace("县财政局".encode(), b"\xff\xfe")
    with pytest.raises(ValueError):
        loads(line)
    assert members_reader(VERIFIED_MEMBERS)(line)["id"] == "e-1"


def test_each_pass_reads_what_its_verifier_and_rebuilder_need():
    funds = set(VERIFIED_MEMBERS) | set(FundsRebuild.members)
    assert set(members_read("funds", verify=True, rebuild=True)) == funds
    assert set(members_read("funds", verify=False, rebuild=True)) == set(FundsRebuild.members)
    assert members_read("funds", verify=True, rebuild=False) == VERIFIED_MEMBERS
    assert members_read("registry", verify=True, rebuild=True) is None  # its rebuilder names none: every member
    assert members_read("audit", verify=True, rebuild=True) == VERIFIED_MEMBERS  # only counted
