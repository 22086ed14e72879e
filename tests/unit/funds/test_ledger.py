"""The funds ledger (ARCHITECTURE.md "The funds ledger"): accounts, each operation's rules and
errors, balances, invariants, the backwards trace, and a year of money for 精河县."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.funds.domain import (
    CHANNELS,
    AccountKey,
    DuplicatePosting,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    InvalidPosting,
    Ledger,
    LedgerError,
    Posting,
    check_posting,
    check_sufficient,
    province_of,
)
from shared.errors import Problem

from .helpers import BOLE, BOZHOU, JINGHE, JINGHE_TOWN, NATIONAL, SHANXI, XINJIANG, acct, post

# --------------------------------------------------------------------------------------------
# accounts
# --------------------------------------------------------------------------------------------


def test_account_normalises_division_and_knows_external():
    key = AccountKey("652722", "finance", "central_special", 2017, "available")
    assert key.division == JINGHE
    assert key == acct(JINGHE, "available")
    assert not key.is_external
    assert acct(NATIONAL, "appropriation").is_external
    assert acct(JINGHE, "disbursed", reference="某合作社").is_external
    assert str(key) == "652722000000:finance:central_special:2017:available"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"division": "65272"}, "division"),
        ({"division": "652722000001x"}, "division"),
        ({"role": "bank"}, "role"),
        ({"channel": "no_such_channel"}, "channel"),
        ({"fiscal_year": 1800}, "fiscal_year"),
        ({"fiscal_year": True}, "fiscal_year"),
        ({"fiscal_year": "2017"}, "fiscal_year"),
        ({"kind": "cash"}, "kind"),
        ({"kind": "committed"}, "reference"),  # a commitment names its project
        ({"kind": "disbursed"}, "reference"),  # a disbursement names its payee
        ({"kind": "pool"}, "reference"),  # a pool names its integration plan
        ({"kind": "available", "reference": "X"}, "reference"),
        ({"kind": "committed", "reference": "  "}, "reference"),
        ({"kind": "pool", "division": XINJIANG, "reference": "plan"}, "division"),  # pools are county
        ({"kind": "returned", "division": JINGHE}, "division"),  # returned is provincial
    ],
)
def test_invalid_accounts_are_refused(kwargs, field):
    base = {"division": JINGHE, "role": "finance", "channel": "central_special", "fiscal_year": 2017,
            "kind": "available", "reference": None}
    base.update(kwargs)
    with pytest.raises(InvalidAccount) as info:
        AccountKey(**base)
    assert info.value.code == "invalid_account"
    assert info.value.extensions["field"] == field
    assert isinstance(info.value, LedgerError) and isinstance(info.value, ValueError)


def test_channels_have_chinese_labels():
    assert CHANNELS["central_special"].label_zh == "中央财政专项扶贫资金"
    assert "东西部" in CHANNELS["east_west"].label_zh
    assert all(c.label_zh and c.code == code for code, c in CHANNELS.items())
    assert any(code.startswith("agri_integrated_") for code in CHANNELS)


def test_province_of():
    assert province_of(JINGHE) == XINJIANG
    assert province_of(XINJIANG) == XINJIANG
    with pytest.raises(ValueError):
        province_of(NATIONAL)


# --------------------------------------------------------------------------------------------
# a funded chain used by the operation tests
# --------------------------------------------------------------------------------------------

CENTRAL_AVAIL = acct(NATIONAL, "available")
XJ_AVAIL = acct(XINJIANG, "available")
BZ_AVAIL = acct(BOZHOU, "available")
JH_AVAIL = acct(JINGHE, "available")
JH_POOL = acct(JINGHE, "pool", reference="精河县2017整合方案")
JH_PROJECT = acct(JINGHE, "committed", reference="P-652722-2017-001")
PAYEE = acct(JINGHE, "disbursed", reference="精河县托里镇枸杞合作社")
XJ_RETURNED = acct(XINJIANG, "returned")


@pytest.fixture
def funded() -> Ledger:
    """1,000,000 yuan appropriated centrally and allocated down to 精河县."""
    amount = 100_000_000
    return Ledger.replay([
        post("appropriate", acct(NATIONAL, "appropriation"), CENTRAL_AVAIL, amount, doc="财预〔2017〕1号"),
        post("allocate", CENTRAL_AVAIL, XJ_AVAIL, amount, doc="财农〔2017〕20号"),
        post("allocate", XJ_AVAIL, BZ_AVAIL, amount, doc="新财农〔2017〕15号"),
        post("allocate", BZ_AVAIL, JH_AVAIL, amount, doc="博州财农〔2017〕7号"),
    ])


def test_funded_chain_balances(funded):
    assert funded.balance(JH_AVAIL) == 100_000_000
    assert funded.balance(acct(NATIONAL, "appropriation")) == -100_000_000
    assert funded.balance(XJ_AVAIL) == 0 and XJ_AVAIL not in funded.balances  # zeros not kept
    assert funded.total() == 0
    funded.check_invariants()
    assert len(funded) == 4


# --------------------------------------------------------------------------------------------
# operation rules: one valid case each, then the refusals
# --------------------------------------------------------------------------------------------


def test_valid_operations_in_order(funded):
    ledger = funded.apply(post("integrate", JH_AVAIL, JH_POOL, 60_000_000, doc="精政办〔2017〕3号"))
    ledger = ledger.apply(post("commit", JH_POOL, JH_PROJECT, 50_000_000, reference="P-652722-2017-001"))
    ledger = ledger.apply(post("commit", JH_AVAIL, acct(JINGHE, "committed", reference="P-2"), 1_000_000))
    ledger = ledger.apply(post("disburse", JH_PROJECT, PAYEE, 20_000_000, doc="", purpose="industry"))
    stranded = acct(JINGHE, "stranded", reference="P-652722-2017-001")
    ledger = ledger.apply(post("strand", JH_PROJECT, stranded, 30_000_000, doc=""))
    ledger = ledger.apply(post("return", stranded, XJ_RETURNED, 30_000_000, doc="精财农〔2017〕40号"))
    ledger = ledger.apply(post("reallocate", XJ_RETURNED, acct(BOLE, "available"), 30_000_000,
                               doc="新财农〔2017〕88号"))
    assert ledger.balance(JH_POOL) == 10_000_000
    assert ledger.balance(JH_PROJECT) == 0
    assert ledger.balance(PAYEE) == 20_000_000
    assert ledger.balance(acct(BOLE, "available")) == 30_000_000
    assert ledger.sum(kind="available", division=JINGHE, exact_division=True) == 39_000_000
    ledger.check_invariants()


def _refused(ledger: Ledger, posting: Posting, error=InvalidPosting, code: str | None = None):
    before = (dict(ledger.balances), ledger.postings)
    with pytest.raises(error) as info:
        ledger.apply(posting)
    assert (dict(ledger.balances), ledger.postings) == before  # nothing changed
    if code is not None:
        assert info.value.code == code, info.value.detail
    # bilingual: Chinese first, English in parentheses
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.detail) and "(" in info.value.detail
    return info.value


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", None, 10**16])
def test_amount_must_be_positive_int_fen(funded, amount):
    err = _refused(funded, post("allocate", JH_AVAIL, acct(JINGHE_TOWN, "available"), amount), InvalidAmount,
                   "invalid_amount")
    assert isinstance(err, LedgerError)


def test_over_disbursement_is_refused_and_nothing_written(funded):
    ledger = funded.apply(post("commit", JH_AVAIL, JH_PROJECT, 5_000_000))
    err = _refused(ledger, post("disburse", JH_PROJECT, PAYEE, 5_000_001), InsufficientFunds, "insufficient_funds")
    assert err.extensions["balance"] == "50000.00"
    assert err.extensions["amount"] == "50000.01"
    assert ledger.apply(post("disburse", JH_PROJECT, PAYEE, 5_000_000)).balance(JH_PROJECT) == 0


def test_non_external_accounts_never_go_negative(funded):
    _refused(funded, post("allocate", XJ_AVAIL, BZ_AVAIL, 1), InsufficientFunds)
    # the external source may go negative as far as needed
    ledger = funded.apply(post("appropriate", acct(NATIONAL, "appropriation"), CENTRAL_AVAIL, 10**15))
    assert ledger.balance(acct(NATIONAL, "appropriation")) == -100_000_000 - 10**15


def test_duplicate_posting_id(funded):
    first = funded.postings[0]
    err = _refused(funded, post("allocate", JH_AVAIL, acct(JINGHE_TOWN, "available"), 1,
                                posting_id=first.posting_id), DuplicatePosting, "duplicate_posting")
    assert err.status == 409


@pytest.mark.parametrize(
    "operation, from_, to, code",
    [
        # appropriate: own division, by finance, at the channel's level
        ("appropriate", acct(NATIONAL, "appropriation"), XJ_AVAIL, "appropriate_other_division"),
        ("appropriate", acct(NATIONAL, "appropriation", role="office"), acct(NATIONAL, "available", role="office"),
         "appropriate_not_finance"),
        ("appropriate", acct(XINJIANG, "appropriation"), XJ_AVAIL, "appropriate_wrong_level"),
        ("appropriate", acct(NATIONAL, "available"), XJ_AVAIL, "wrong_kinds"),
        # allocate: strictly lower, within jurisdiction, same channel and year
        ("allocate", JH_AVAIL, XJ_AVAIL, "allocate_not_lower"),
        ("allocate", JH_AVAIL, acct(JINGHE, "available", role="office"), "allocate_not_lower"),
        ("allocate", JH_AVAIL, acct(BOLE, "available"), "allocate_not_lower"),  # a sibling county
        ("allocate", XJ_AVAIL, acct(SHANXI, "available"), "allocate_not_lower"),
        ("allocate", JH_AVAIL, acct(JINGHE_TOWN, "available", channel="provincial_special"), "channel_changed"),
        ("allocate", JH_AVAIL, acct(JINGHE_TOWN, "available", year=2018), "fiscal_year_changed"),
        ("allocate", JH_AVAIL, acct(JINGHE_TOWN, "committed", reference="P"), "wrong_kinds"),
        ("allocate", JH_AVAIL, JH_AVAIL, "same_account"),
        # integrate: same county holder, same channel, integrable channel
        ("integrate", JH_AVAIL, acct(JINGHE, "pool", channel="county_special", reference="plan"), "channel_changed"),
        ("integrate", JH_AVAIL, acct(BOLE, "pool", reference="plan"), "integrate_other_holder"),
        ("integrate", acct(JINGHE, "available", channel="east_west"),
         acct(JINGHE, "pool", channel="east_west", reference="plan"), "channel_not_integrable"),
        ("integrate", JH_POOL, acct(JINGHE, "pool", reference="other plan"), "wrong_kinds"),
        # commit: from pool/available of the same holder to a project
        ("commit", JH_AVAIL, acct(BOLE, "committed", reference="P"), "commit_other_holder"),
        ("commit", JH_AVAIL, acct(JINGHE, "committed", reference="P", role="office"), "commit_other_holder"),
        ("commit", XJ_RETURNED, acct(XINJIANG, "committed", reference="P"), "wrong_kinds"),
        # disburse: committed → payee
        ("disburse", JH_AVAIL, PAYEE, "wrong_kinds"),
        ("disburse", JH_PROJECT, acct(BOLE, "disbursed", reference="x"), "disburse_other_holder"),
        ("disburse", JH_PROJECT, acct(JINGHE, "disbursed", reference="x", channel="county_special"),
         "channel_changed"),
        # strand keeps the reference of where it was
        ("strand", JH_PROJECT, acct(JINGHE, "stranded", reference="P-other"), "reference_mismatch"),
        ("strand", JH_PROJECT, acct(JINGHE, "stranded"), "reference_mismatch"),
        # return: to its own province's finance, original channel
        ("return", acct(JINGHE, "stranded"), acct("140000000000", "returned"), "return_not_to_province"),
        ("return", acct(JINGHE, "stranded"), acct(XINJIANG, "returned", role="office"), "return_not_to_province"),
        ("return", acct(JINGHE, "stranded"), acct(XINJIANG, "returned", channel="provincial_special"),
         "channel_changed"),
        ("return", JH_AVAIL, XJ_RETURNED, "wrong_kinds"),
        # reallocate: from the province's returned money to a lower division, same channel
        ("reallocate", XJ_RETURNED, acct(SHANXI, "available"), "reallocate_not_lower"),
        ("reallocate", XJ_RETURNED, XJ_AVAIL, "reallocate_not_lower"),
        ("reallocate", XJ_RETURNED, acct(JINGHE, "available", channel="agri_integrated_irrigation"),
         "channel_changed"),
        # unknown operation
        ("transfer", JH_AVAIL, acct(JINGHE_TOWN, "available"), "unknown_operation"),
    ],
)
def test_operation_rules(funded, operation, from_, to, code):
    _refused(funded, post(operation, from_, to, 1), InvalidPosting, code)


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"document_no": ""}, "missing_document_no"),
        ({"document_no": "   "}, "missing_document_no"),
        ({"document_no": None}, "invalid_document_no"),
        ({"document_date": "2017-03-01"}, "invalid_document_date"),
        ({"document_date": datetime(2017, 3, 1, 8)}, "invalid_document_date"),
        ({"actor": ""}, "missing_actor"),
        ({"posting_id": ""}, "missing_posting_id"),
        ({"purpose": ""}, "invalid_purpose"),
        ({"reference": "P-other"}, "reference_mismatch"),
        ({"operation": ["integrate"]}, "unknown_operation"),  # not even a key (a log the auditor replays)
        ({"operation": None}, "unknown_operation"),
    ],
)
def test_posting_fields(funded, changes, code):
    base = dict(posting_id="x-1", from_=JH_AVAIL, to=JH_POOL, amount_fen=1, operation="integrate",
                document_no="精政办〔2017〕3号", document_date=date(2017, 4, 1), actor="u1")
    base.update(changes)
    _refused(funded, Posting(**base), InvalidPosting, code)


def test_commit_and_disburse_need_no_document_number(funded):
    ledger = funded.apply(post("commit", JH_AVAIL, JH_PROJECT, 100, doc=""))
    ledger = ledger.apply(post("disburse", JH_PROJECT, PAYEE, 100, doc="", reference=PAYEE.reference))
    assert ledger.balance(PAYEE) == 100


def test_check_functions_for_callers_keeping_balances_elsewhere():
    p = post("disburse", JH_PROJECT, PAYEE, 500)
    check_posting(p)
    check_sufficient(p, 500)
    with pytest.raises(InsufficientFunds):
        check_sufficient(p, 499)
    check_sufficient(post("appropriate", acct(NATIONAL, "appropriation"), CENTRAL_AVAIL, 5), -10**12)
    with pytest.raises(InvalidPosting):
        check_posting("not a posting")  # type: ignore[arg-type]


def test_errors_are_problems_with_code():
    err = InsufficientFunds("余额不足 (insufficient)", balance="0.00")
    assert isinstance(err, Problem) and err.status == 422
    body = err.body()
    assert body["code"] == "insufficient_funds" and body["balance"] == "0.00"
    custom = InvalidPosting("x (x)", code="allocate_not_lower")
    assert custom.code == "allocate_not_lower" and custom.body()["code"] == "allocate_not_lower"
    assert InvalidPosting("y (y)").code == "invalid_posting"


def test_apply_all_is_all_or_nothing(funded):
    good = post("commit", JH_AVAIL, JH_PROJECT, 100)
    bad = post("disburse", JH_PROJECT, PAYEE, 101)
    with pytest.raises(InsufficientFunds) as info:
        funded.apply_all([good, bad])
    assert info.value.extensions["index"] == 1
    assert len(funded) == 4 and funded.balance(JH_PROJECT) == 0
    assert funded.apply_all([good, post("disburse", JH_PROJECT, PAYEE, 100)]).balance(PAYEE) == 100


def test_ledger_is_immutable_and_comparable(funded):
    p = post("commit", JH_AVAIL, JH_PROJECT, 100)
    after = funded.apply(p)
    assert after is not funded and funded.balance(JH_PROJECT) == 0 and after.balance(JH_PROJECT) == 100
    assert Ledger.replay(after.postings) == after
    assert Ledger.replay(after.postings) != funded
    with pytest.raises(TypeError):
        funded.balances[JH_AVAIL] = 0  # type: ignore[index]


def test_posting_round_trips_through_dict(funded):
    for p in funded.postings:
        assert Posting.from_dict(p.as_dict()) == p


# --------------------------------------------------------------------------------------------
# trace (资金流向全程追溯)
# --------------------------------------------------------------------------------------------


def test_trace_of_a_disbursement_back_to_the_appropriation(funded):
    ledger = funded.apply_all([
        post("integrate", JH_AVAIL, JH_POOL, 60_000_000),
        post("commit", JH_POOL, JH_PROJECT, 50_000_000),
        post("commit", JH_POOL, acct(JINGHE, "committed", reference="P-other"), 1_000),
        post("disburse", JH_PROJECT, PAYEE, 20_000_000),
        post("disburse", JH_PROJECT, acct(JINGHE, "disbursed", reference="another payee"), 1_000),
    ])
    trail = ledger.trace(PAYEE)
    assert [p.operation for p in trail] == [
        "appropriate", "allocate", "allocate", "allocate", "integrate", "commit", "disburse",
    ]
    assert [p.to.division for p in trail[1:4]] == [XINJIANG, BOZHOU, JINGHE]
    assert trail[0].from_ == acct(NATIONAL, "appropriation")
    assert all(p.from_.channel == "central_special" for p in trail)
    # by reference: the payee; by project: the commitment and its sources (not the disbursements)
    assert ledger.trace(PAYEE.reference) == trail
    assert [p.operation for p in ledger.trace("P-652722-2017-001")][-1] == "commit"
    assert ledger.trace("nobody") == []
    with pytest.raises(TypeError):
        ledger.trace(42)  # type: ignore[arg-type]


def test_trace_ignores_money_that_arrived_later(funded):
    later = post("allocate", BZ_AVAIL, JH_AVAIL, 5, doc="late")
    ledger = funded.apply_all([
        post("commit", JH_AVAIL, JH_PROJECT, 100),
        post("appropriate", acct(NATIONAL, "appropriation"), CENTRAL_AVAIL, 5),
        post("allocate", CENTRAL_AVAIL, XJ_AVAIL, 5),
        post("allocate", XJ_AVAIL, BZ_AVAIL, 5),
        later,
    ])
    trail = ledger.trace(JH_PROJECT)
    assert later not in trail
    assert len(trail) == 5  # the 4 funding postings and the commitment


# --------------------------------------------------------------------------------------------
# a year of money for 精河县 (issue 5 "Must be shown by tests", domain level)
# --------------------------------------------------------------------------------------------


def test_a_year_of_money_for_jinghe():
    steps: list[tuple[str, list[Posting]]] = []
    central = "central_special"
    irrigation = "agri_integrated_irrigation"
    provincial = "provincial_special"
    plan = "精河县2017年统筹整合使用财政涉农资金实施方案"

    def a(div, kind, ch, ref=None):
        return acct(div, kind, channel=ch, reference=ref)

    # 1. appropriations: the centre (two channels) and 新疆 (its own special funds)
    steps.append(("appropriate", [
        post("appropriate", a(NATIONAL, "appropriation", central), a(NATIONAL, "available", central),
             300_000_000_00, doc="财农〔2016〕205号", on=date(2016, 11, 20)),
        post("appropriate", a(NATIONAL, "appropriation", irrigation), a(NATIONAL, "available", irrigation),
             50_000_000_00, doc="财农〔2017〕33号", on=date(2017, 3, 10)),
        post("appropriate", a(XINJIANG, "appropriation", provincial), a(XINJIANG, "available", provincial),
             20_000_000_00, doc="新财预〔2017〕2号", on=date(2017, 1, 20)),
    ]))
    # 2. 下达: 中央 → 新疆 → 博州 → 精河县, with 文号
    chain = [(NATIONAL, XINJIANG, "财农〔2016〕205号"), (XINJIANG, BOZHOU, "新财农〔2016〕118号"),
             (BOZHOU, JINGHE, "博州财农〔2017〕3号")]
    allocations = []
    for ch, amounts in ((central, (12_000_000_00, 3_000_000_00, 2_400_000_00)),
                        (irrigation, (1_000_000_00, 500_000_00, 300_000_00))):
        for (upper, lower, doc), amount in zip(chain, amounts):
            allocations.append(post("allocate", a(upper, "available", ch), a(lower, "available", ch), amount,
                                    doc=doc))
    allocations += [
        post("allocate", a(XINJIANG, "available", provincial), a(BOZHOU, "available", provincial), 400_000_00,
             doc="新财农〔2017〕21号"),
        post("allocate", a(BOZHOU, "available", provincial), a(JINGHE, "available", provincial), 200_000_00,
             doc="博州财农〔2017〕9号"),
    ]
    steps.append(("allocate", allocations))
    # 3. integration of three channels into the county pool
    steps.append(("integrate", [
        post("integrate", a(JINGHE, "available", central), a(JINGHE, "pool", central, plan), 2_000_000_00,
             doc="精政发〔2017〕12号"),
        post("integrate", a(JINGHE, "available", irrigation), a(JINGHE, "pool", irrigation, plan), 300_000_00,
             doc="精政发〔2017〕12号"),
        post("integrate", a(JINGHE, "available", provincial), a(JINGHE, "pool", provincial, plan), 200_000_00,
             doc="精政发〔2017〕12号"),
    ]))
    # 4. commitments to three projects
    projects = {"JH-2017-001": (central, 1_200_000_00), "JH-2017-002": (irrigation, 300_000_00),
                "JH-2017-003": (central, 500_000_00)}
    steps.append(("commit", [
        post("commit", a(JINGHE, "pool", ch, plan), a(JINGHE, "committed", ch, code), amount, doc="")
        for code, (ch, amount) in projects.items()
    ] + [post("commit", a(JINGHE, "pool", provincial, plan), a(JINGHE, "committed", provincial, "JH-2017-001"),
              200_000_00, doc="")]))
    # 5. a batch disbursement
    payees = [("JH-2017-001", central, "托里镇枸杞种植合作社", 800_000_00),
              ("JH-2017-001", provincial, "托里镇枸杞种植合作社", 150_000_00),
              ("JH-2017-002", irrigation, "精河县水利工程公司", 299_999_99),
              ("JH-2017-003", central, "茫丁乡养殖合作社", 100_000_00)]
    steps.append(("disburse", [
        post("disburse", a(JINGHE, "committed", ch, proj), a(JINGHE, "disbursed", ch, payee), amount, doc="")
        for proj, ch, payee, amount in payees
    ]))
    # 6. JH-2017-003 cancelled: its undisbursed commitment is stranded, returned, re-allocated
    p3 = a(JINGHE, "committed", central, "JH-2017-003")
    stranded = a(JINGHE, "stranded", central, "JH-2017-003")
    steps.append(("strand", [post("strand", p3, stranded, 400_000_00, doc="")]))
    steps.append(("return", [post("return", stranded, a(XINJIANG, "returned", central), 400_000_00,
                                  doc="精财农〔2018〕5号", on=date(2018, 6, 1))]))
    steps.append(("reallocate", [post("reallocate", a(XINJIANG, "returned", central), a(BOLE, "available", central),
                                      400_000_00, doc="新财农〔2018〕60号", on=date(2018, 7, 1))]))

    ledger = Ledger()
    for name, postings in steps:
        ledger = ledger.apply_all(postings)
        ledger.check_invariants()  # zero-sum and no negative non-external balance after each step
        assert ledger.total() == 0, name

    # the pool keeps per-channel sub-balances
    pool = ledger.select(kind="pool", division=JINGHE)
    assert {k.channel: v for k, v in pool.items()} == {central: 2_000_000_00 - 1_700_000_00}
    assert ledger.balance(a(JINGHE, "committed", central, "JH-2017-001")) == 400_000_00
    assert ledger.balance(a(JINGHE, "committed", irrigation, "JH-2017-002")) == 1
    assert ledger.balance(p3) == 0 and ledger.balance(stranded) == 0
    assert ledger.balance(a(BOLE, "available", central)) == 400_000_00
    assert ledger.sum(kind="disbursed", division=JINGHE) == 1_349_999_99
    assert ledger.sum(kind="appropriation") == -370_000_000_00

    # over-disbursement is refused and nothing is written
    over = post("disburse", a(JINGHE, "committed", irrigation, "JH-2017-002"),
                a(JINGHE, "disbursed", irrigation, "精河县水利工程公司"), 2)
    with pytest.raises(InsufficientFunds):
        ledger.apply(over)
    assert over not in ledger.postings

    # trace a payee back to both appropriations (central and provincial channels)
    trail = ledger.trace("托里镇枸杞种植合作社")
    appropriations = {p.from_ for p in trail if p.operation == "appropriate"}
    assert appropriations == {a(NATIONAL, "appropriation", central), a(XINJIANG, "appropriation", provincial)}
    assert {p.operation for p in trail} == {"appropriate", "allocate", "integrate", "commit", "disburse"}
    assert all(p.from_.channel in (central, provincial) for p in trail)
    assert not any(p.to.reference in ("JH-2017-003", "茫丁乡养殖合作社") for p in trail)

    # the re-allocated money traces back through return, strand and the cancelled project
    ledger = ledger.apply_all([
        post("commit", a(BOLE, "available", central), a(BOLE, "committed", central, "BL-2018-001"), 400_000_00,
             doc=""),
        post("disburse", a(BOLE, "committed", central, "BL-2018-001"), a(BOLE, "disbursed", central, "博乐市某村"),
             400_000_00, doc=""),
    ])
    ops = [p.operation for p in ledger.trace("博乐市某村")]
    assert ops[0] == "appropriate"
    assert ops[-6:] == ["commit", "strand", "return", "reallocate", "commit", "disburse"]
    ledger.check_invariants()
