"""Corrections in the pure ledger (issue #15): reversal (冲正) of a posting, de-commitment of a
project's unspent commitment, and the year-end carry-forward (结转结余, seed 004 L27)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.funds.domain import (
    FundsError,
    InsufficientFunds,
    InvalidPosting,
    Ledger,
    check_full_return,
    check_posting,
    not_reaching_households,
)
from services.funds.domain.ledger import reversal_of
from shared.policy import load_policy

from .helpers import JINGHE, NATIONAL, XINJIANG, acct, post


def funded_county() -> tuple[Ledger, list]:
    steps = [
        post("appropriate", acct(NATIONAL, "appropriation"), acct(NATIONAL, "available"), 100_000, posting_id="a"),
        post("allocate", acct(NATIONAL, "available"), acct(XINJIANG, "available"), 100_000, posting_id="b"),
        post("allocate", acct(XINJIANG, "available"), acct(JINGHE, "available"), 80_000, posting_id="c"),
        post("integrate", acct(JINGHE, "available"), acct(JINGHE, "pool", reference="方案"), 50_000,
             reference="方案", posting_id="d"),
        post("commit", acct(JINGHE, "pool", reference="方案"), acct(JINGHE, "committed", reference="P-1"), 30_000,
             reference="P-1", posting_id="e"),
    ]
    return Ledger.replay(steps), steps


def reverse(ledger: Ledger, posting_id: str, new_id: str):
    [original] = [p for p in ledger.postings if p.posting_id == posting_id]
    return reversal_of(original, posting_id=new_id, document_no="精财冲〔2017〕1号", document_date=original.document_date,
                       actor="tester")


def test_reversal_mirrors_the_original_and_cites_it():
    ledger, _ = funded_county()
    r = reverse(ledger, "e", "r1")
    assert (r.from_, r.to, r.amount_fen, r.reference, r.operation) == (
        acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "pool", reference="方案"), 30_000, "e", "reverse")
    after = ledger.apply(r)
    assert after.balance(acct(JINGHE, "committed", reference="P-1")) == 0
    assert after.balance(acct(JINGHE, "pool", reference="方案")) == 50_000
    assert after.reversals == {"e": "r1"}
    after.check_invariants()


def test_a_posting_is_reversed_at_most_once():
    ledger, _ = funded_county()
    once = ledger.apply(reverse(ledger, "e", "r1"))
    with pytest.raises(InvalidPosting) as info:
        once.apply(reverse(ledger, "e", "r2"))
    assert info.value.code == "already_reversed" and info.value.extensions["reversed_by"] == "r1"


def test_reversal_refused_when_the_money_has_moved_on():
    ledger, _ = funded_county()  # of the 80,000 allocated to 精河, 50,000 went into the pool
    with pytest.raises(InsufficientFunds):
        ledger.apply(reverse(ledger, "c", "r1"))
    assert len(ledger) == 5


@pytest.mark.parametrize("change, code", [
    (dict(reference="nope"), "reversal_unknown_posting"),
    (dict(amount_fen=1), "reversal_mismatch"),
])
def test_reversal_must_cite_an_existing_posting_exactly(change, code):
    ledger, _ = funded_county()
    r = reverse(ledger, "e", "r1")
    fields = {**r.__dict__, **change}
    with pytest.raises(InvalidPosting) as info:
        ledger.apply(type(r)(**fields))
    assert info.value.code == code


def test_reversal_of_a_reversal_or_a_carry_forward_is_refused():
    ledger, _ = funded_county()
    once = ledger.apply(reverse(ledger, "e", "r1"))
    with pytest.raises(InvalidPosting) as info:
        once.apply(reverse(once, "r1", "r2"))
    assert info.value.code == "reversal_not_allowed"


def test_reversal_needs_a_document_number_and_an_original():
    ledger, _ = funded_county()
    r = reverse(ledger, "e", "r1")
    with pytest.raises(InvalidPosting) as info:
        check_posting(type(r)(**{**r.__dict__, "document_no": ""}))
    assert info.value.code == "missing_document_no"
    with pytest.raises(InvalidPosting) as info:
        check_posting(type(r)(**{**r.__dict__, "reference": None}))
    assert info.value.code == "reversal_without_original"


def test_decommit_returns_unspent_commitment_to_the_pool():
    ledger, _ = funded_county()
    back = post("decommit", acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "pool", reference="方案"), 10_000,
                reference="P-1")
    after = ledger.apply(back)
    assert after.balance(acct(JINGHE, "committed", reference="P-1")) == 20_000
    assert after.balance(acct(JINGHE, "pool", reference="方案")) == 30_000
    with pytest.raises(InsufficientFunds):
        after.apply(post("decommit", acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "available"), 20_001))
    with pytest.raises(InvalidPosting) as info:  # never to another holder
        ledger.apply(post("decommit", acct(JINGHE, "committed", reference="P-1"), acct(XINJIANG, "available"), 1))
    assert info.value.code == "decommit_other_holder"
    with pytest.raises(InvalidPosting) as info:
        ledger.apply(post("decommit", acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "available"), 1,
                          reference="P-2"))
    assert info.value.code == "reference_mismatch"


def test_carry_forward_moves_into_the_next_year_keeping_everything_else():
    ledger, _ = funded_county()
    pool, pool_next = acct(JINGHE, "pool", reference="方案"), acct(JINGHE, "pool", reference="方案", year=2018)
    after = ledger.apply(post("carry_forward", pool, pool_next, 20_000))
    assert after.balance(pool) == 0 and after.balance(pool_next) == 20_000
    after.check_invariants()
    for target, code in ((acct(JINGHE, "pool", reference="方案", year=2019), "carry_forward_year"),
                         (acct(JINGHE, "available", year=2018), "wrong_kinds"),
                         (acct(JINGHE, "pool", reference="另一方案", year=2018), "carry_forward_other_account"),
                         (acct(JINGHE, "pool", channel="provincial_special", reference="方案", year=2018),
                          "channel_changed")):
        with pytest.raises(InvalidPosting) as info:
            ledger.apply(post("carry_forward", pool, target, 1))
        assert info.value.code == code
    with pytest.raises(InvalidPosting) as info:  # a carry-forward is never reversed
        after.apply(reverse(after, after.postings[-1].posting_id, "r1"))
    assert info.value.code == "reversal_not_allowed"
    with pytest.raises(InvalidPosting) as info:  # only carry_forward changes the year
        ledger.apply(post("allocate", acct(XINJIANG, "available"), acct(JINGHE, "available", year=2018), 1))
    assert info.value.code == "fiscal_year_changed"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abcde"), unique=True))
def test_reversals_in_any_order_keep_the_invariants(order):
    """Reversing any subset of the postings, in any order: each is accepted or refused as a whole
    (never a negative balance), and the total stays zero."""
    ledger, _ = funded_county()
    for n, posting_id in enumerate(order):
        try:
            ledger = ledger.apply(reverse(ledger, posting_id, f"r{n}"))
        except InsufficientFunds:
            continue
        ledger.check_invariants()
    assert set(ledger.reversals) <= set(order)


# --------------------------------------------------------------------------------------------
# stranded-money rules (seed 004 L27), pure
# --------------------------------------------------------------------------------------------

def test_full_return_refuses_a_part_with_the_rule():
    policy = load_policy()
    check_full_return(policy, JINGHE, date(2017, 6, 1), 60_000, 60_000)
    with pytest.raises(FundsError) as info:
        check_full_return(policy, "141100000000", date(2017, 6, 1), 60_000, 10_000)  # 吕梁 (Shanxi)
    assert info.value.code == "return_not_in_full"
    assert info.value.extensions["citation"] == "seed 004 L27" and info.value.extensions["rule"] == "funds.stranded.return"


def test_not_reaching_households_first_in_first_out():
    policy = load_policy()
    inflows = [(date(2016, 1, 10), 50_000), (date(2016, 9, 1), 30_000)]
    # on 2017-01-10 the first commitment is 366 days old; 20,000 was paid: 30,000 of it is overdue
    amount, rule = not_reaching_households(policy, JINGHE, date(2017, 1, 10), inflows, 20_000, 60_000)
    assert (amount, rule.id, rule.value["committed_unpaid_days"]) == (30_000, "funds.stranded.not_reaching_households", 365)
    assert not_reaching_households(policy, JINGHE, date(2016, 12, 1), inflows, 20_000, 60_000) is None  # in time
    assert not_reaching_households(policy, JINGHE, date(2017, 1, 10), inflows, 50_000, 30_000) is None  # paid enough
    assert not_reaching_households(policy, "140000000000", date(2017, 1, 10), inflows, 0, 80_000)[1].citation == \
        "seed 004 L27"
