"""The ledger's performance forms keep its behaviour: ``AccountKey`` keeps its hash (equal to the
dataclass's hash of the field tuple) and rebuilds it when unpickled in another process,
``AccountKey.replace(reference=…)`` (``with_reference``) skips revalidating the rest of a valid key but equals (or
fails exactly as) a full construction, and ``Posting``'s own ``__init__`` is the dataclass's."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.funds.domain import (
    KINDS,
    OPERATION_KINDS,
    OPERATIONS,
    AccountKey,
    InvalidAccount,
    Ledger,
    Posting,
    check_posting,
)

from .helpers import JINGHE, JINGHE_TOWN, XINJIANG, acct, post

KEY_FIELDS = ("division", "role", "channel", "fiscal_year", "kind", "reference")


def test_the_key_hash_is_the_dataclass_hash_of_its_fields_and_the_fields_are_unchanged():
    key = AccountKey("652722", "finance", "central_special", 2017, "committed", "P-1")
    assert hash(key) == hash(tuple(getattr(key, name) for name in KEY_FIELDS))
    assert [f.name for f in dataclasses.fields(AccountKey)] == list(KEY_FIELDS)
    assert repr(key) == ("AccountKey(division='652722000000', role='finance', channel='central_special', "
                         "fiscal_year=2017, kind='committed', reference='P-1')")
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.reference = "P-2"  # type: ignore[misc]
    assert key != (JINGHE, "finance", "central_special", 2017, "committed", "P-1")
    assert key == dataclasses.replace(key) and hash(key) == hash(dataclasses.replace(key))
    assert {key: 1}[acct(JINGHE, "committed", reference="P-1")] == 1


def test_a_key_copies_and_pickles_with_its_fields_and_a_fresh_hash():
    key = acct(JINGHE, "disbursed", reference="household:1")
    for clone in (copy.copy(key), copy.deepcopy(key), pickle.loads(pickle.dumps(key))):
        assert clone == key and hash(clone) == hash(key)
    ledger = Ledger().apply_all([post("appropriate", acct("000000000000", "appropriation"),
                                      acct("000000000000", "available"), 500)])
    assert pickle.loads(pickle.dumps(ledger)) == ledger


def test_a_key_unpickled_in_a_process_with_another_string_hash_seed_is_hashed_there():
    keys = {acct(JINGHE, "disbursed", reference=f"household:{n}"): n for n in range(20)}
    program = ("import pickle, sys\n"
               "from services.funds.domain import AccountKey\n"
               "keys = pickle.loads(sys.stdin.buffer.read())\n"
               "probe = AccountKey('652722000000', 'finance', 'central_special', 2017, 'disbursed', 'household:7')\n"
               "print(keys[probe], hash(probe) == hash(tuple(getattr(probe, f) for f in "
               "('division', 'role', 'channel', 'fiscal_year', 'kind', 'reference'))))\n")
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", program], input=pickle.dumps(keys), capture_output=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.stdout.split() == [b"7", b"True"]


REFERENCES = st.one_of(st.none(), st.just(""), st.just("   "), st.text(max_size=4), st.integers(), st.just(["x"]))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), start=st.sampled_from([None, "P-1", "plan-A"]), reference=REFERENCES,
       division=st.sampled_from([JINGHE, "652722", XINJIANG, "65"]))
def test_replacing_the_reference_equals_building_the_key_or_fails_the_same_way(kind, start, reference, division):
    """replace(reference=…) and with_reference (the auditor's key for each new payee) alike."""
    try:
        template = AccountKey(division, "finance", "central_special", 2017, kind, start)
    except InvalidAccount:
        return  # no valid key to start from
    try:
        expected = AccountKey(division, "finance", "central_special", 2017, kind, reference)
    except InvalidAccount as error:
        for replaced in (lambda: template.replace(reference=reference), lambda: template.with_reference(reference)):
            with pytest.raises(InvalidAccount) as raised:
                replaced()
            assert str(raised.value) == str(error) and raised.value.extensions == error.extensions
        return
    for got in (template.replace(reference=reference), template.with_reference(reference)):
        assert got == expected and hash(got) == hash(expected) and repr(got) == repr(expected)
        assert type(got) is AccountKey and got.as_dict() == expected.as_dict()
        assert pickle.loads(pickle.dumps(got)) == expected


def test_replacing_other_fields_still_validates_them():
    key = acct(JINGHE, "committed", reference="P-1")
    assert key.replace(kind="disbursed", reference="payee") == acct(JINGHE, "disbursed", reference="payee")
    with pytest.raises(InvalidAccount):
        key.replace(kind="available")  # an available account has no reference
    with pytest.raises(InvalidAccount):
        key.replace(division="65272")


def test_the_posting_init_is_the_dataclass_init():
    a, b = acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "disbursed", reference="payee")
    positional = Posting("p-1", a, b, 100, "disburse", "", date(2017, 3, 1), "tester")
    keywords = Posting(posting_id="p-1", from_=a, to=b, amount_fen=100, operation="disburse", document_no="",
                       document_date=date(2017, 3, 1), actor="tester", purpose=None, reference=None)
    assert positional == keywords and hash(positional) == hash(keywords)
    assert list(vars(positional)) == [f.name for f in dataclasses.fields(Posting)]
    assert dataclasses.replace(positional, amount_fen=5).amount_fen == 5
    assert Posting.from_dict(positional.as_dict()) == positional
    with pytest.raises(TypeError):
        Posting("p-1", a, b, 100, "disburse", "", date(2017, 3, 1))  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        positional.amount_fen = 5  # type: ignore[misc]


def test_every_operation_has_its_row_of_holder_and_reference_rules():
    from services.funds.domain.ledger import OPERATION_RULES

    assert set(OPERATION_RULES) == set(OPERATIONS) == set(OPERATION_KINDS)


LINE_TEXTS = st.one_of(st.none(), st.just(""), st.just("  "), st.sampled_from(["P-1", "payee", "household:1"]),
                       st.integers())


def _outcome(check, posting, *args) -> tuple | None:
    """None, or what the check raised: its type, code, message and extensions."""
    from services.funds.domain import FundsError

    try:
        check(posting, *args)
    except FundsError as error:
        return type(error), getattr(error, "code", None), str(error), getattr(error, "extensions", None)
    return None


@settings(max_examples=600, deadline=None)
@given(operation=st.sampled_from(OPERATIONS), kinds=st.tuples(st.sampled_from(KINDS), st.sampled_from(KINDS)),
       references=st.tuples(st.sampled_from([None, "P-1", "plan-A"]), st.sampled_from([None, "P-1", "payee"])),
       line_reference=LINE_TEXTS, reference=LINE_TEXTS, purpose=LINE_TEXTS,
       amount=st.one_of(st.integers(-5, 10**16), st.just(True)), posting_id=st.sampled_from(["p-9", "", " ", 7]),
       other_holder=st.booleans())
def test_a_posting_checked_like_an_accepted_one_is_judged_as_check_posting_judges_it(
        operation, kinds, references, line_reference, reference, purpose, amount, posting_id, other_holder):
    """A batch checks its lines against a posting check_posting accepted (check_posting_like): for
    every line that differs from that model in what a line may change, the same verdict."""
    from services.funds.domain.ledger import check_posting_like

    try:
        source = acct(JINGHE, kinds[0], reference=references[0])
        template = acct(JINGHE_TOWN if other_holder else JINGHE, kinds[1], reference=references[1])
    except InvalidAccount:
        return
    model = Posting("p-1", source, template, 100, operation, "财农〔2017〕1号", date(2017, 3, 1), "tester")
    if _outcome(check_posting, model) is not None:
        return  # not accepted: never a model
    try:
        to = template.replace(reference=line_reference)
    except InvalidAccount:
        return
    line = Posting(posting_id, source, to, amount, operation, model.document_no, model.document_date, model.actor,
                   purpose=purpose, reference=reference)
    assert _outcome(check_posting_like, line, model) == _outcome(check_posting, line)


def test_a_posting_not_built_like_its_model_takes_the_full_check():
    from services.funds.domain import InvalidPosting
    from services.funds.domain.ledger import check_posting_like

    source, payee = acct(JINGHE, "committed", reference="P-1"), acct(JINGHE, "disbursed", reference="payee")
    model = post("disburse", source, payee, 100)
    with pytest.raises(InvalidPosting):  # another actor: checked again (missing)
        check_posting_like(post("disburse", source, payee.replace(reference="x"), 100, actor=""), model)
    with pytest.raises(InvalidPosting):  # a to-account of another kind
        check_posting_like(post("disburse", source, acct(JINGHE, "available"), 100), model)


def test_the_books_of_many_postings_are_the_union_of_each_postings_books():
    from services.funds.domain.ledger import books_written, holdings_of

    committed = acct(JINGHE, "committed", reference="P-1")
    postings = [post("disburse", committed, acct(JINGHE, "disbursed", reference=f"payee-{n}"), 100) for n in range(5)]
    postings.append(post("allocate", acct(XINJIANG, "available"), acct(JINGHE, "available", year=2018), 5))
    postings.append(post("appropriate", acct(XINJIANG, "appropriation"), acct(XINJIANG, "available"), 5))
    assert books_written(postings) == set().union(*(holdings_of(p) for p in postings))
    assert books_written([]) == set()
