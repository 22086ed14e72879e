"""Reading postings out of the funds service's events (services/funds/contract.py)."""

from datetime import date

import pytest

from services.funds.contract import postings_of
from services.funds.domain import AccountKey, InvalidPosting, Posting, check_posting

COMMITTED = AccountKey("652722000000", "finance", "central_special", 2017, "committed", "P-1")
PAYEE = "household:0192f0a4-0000-7000-8000-000000000001"


def single_disbursement(line_ref: str | None) -> dict:
    posting = Posting(posting_id="0192f0a4-0000-7000-8000-0000000000aa", from_=COMMITTED,
                      to=COMMITTED.replace(kind="disbursed", reference=PAYEE), amount_fen=300000, operation="disburse",
                      document_no="", document_date=date(2017, 6, 20), actor="王会计", reference=PAYEE)
    # as the funds service records it (version 1): the extra ``reference`` overwrites the posting's
    data = {**posting.as_dict(), "amount": "3000.00", "on": "2017-06-20", "payee": {"kind": "household"},
            "project_code": "P-1", "reference": line_ref or PAYEE}
    return {"type": "funds.disbursement.posted", "data": data}


def test_a_single_disbursement_with_a_line_reference_reads_back_as_the_posting_that_was_made():
    event = single_disbursement("精财拨〔2017〕30号-1")
    with pytest.raises(InvalidPosting):  # the data as recorded is not the posting that was made
        check_posting(Posting.from_dict(event["data"]))
    [read] = postings_of(event)
    assert read["reference"] == PAYEE and read["line_ref"] == "精财拨〔2017〕30号-1"
    check_posting(Posting.from_dict(read))  # the ledger's own rules accept it (the auditor replays it)


def test_a_single_disbursement_without_a_line_reference_is_read_as_it_is():
    event = single_disbursement(None)
    assert postings_of(event) == [event["data"]]


def test_events_without_postings_carry_none():
    assert postings_of({"type": "funds.deadline.met", "data": {}}) == []


def test_the_data_of_another_operation_is_read_as_it_is_without_looking_for_its_to_account():
    """Only a disbursement's reference can be a line reference: another operation's data is not
    looked into (a reader of what the data does not carry decides what is missing, not this)."""
    data = {"operation": "commit", "reference": "P-1", "amount_fen": 5}
    assert postings_of({"type": "funds.commitment.posted", "data": data}) == [data]
