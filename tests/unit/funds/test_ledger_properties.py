"""Property test (hypothesis): any random sequence of valid and invalid operations keeps every
ledger invariant - the total is zero, no non-external balance is negative - every invalid posting
raises a LedgerError and leaves the ledger unchanged, and every valid one is accepted."""

from __future__ import annotations

import functools
from datetime import date

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.funds.domain import CHANNELS, AccountKey, Ledger, LedgerError, Posting
from shared.divisions import Level, level, within

from .helpers import BOLE, BOZHOU, JINGHE, JINGHE_TOWN, NATIONAL, SHANXI, SHANXI_CITY, XINJIANG

DIVISIONS = [NATIONAL, XINJIANG, BOZHOU, JINGHE, BOLE, JINGHE_TOWN, SHANXI, SHANXI_CITY, "142301000000"]
CHANNEL_CODES = ["central_special", "agri_integrated_irrigation", "provincial_special", "east_west"]
YEARS = [2017, 2018]
PLANS = ["plan-A", "plan-B"]
PROJECTS = ["P1", "P2", "P3"]
PAYEES = ["payee-1", "payee-2"]
_DEPTH = {lvl: i for i, lvl in enumerate(Level)}


@functools.cache
def _lower(upper: str) -> list[str]:
    return [d for d in DIVISIONS if within(d, upper) and _DEPTH[level(d)] > _DEPTH[level(upper)]]


def _holding(ledger: Ledger, *kinds: str) -> list[AccountKey]:
    return sorted((k for k, v in ledger.balances.items() if k.kind in kinds and v > 0), key=str)


def _source_division(draw, channel: str) -> str:
    source = CHANNELS[channel].source_level
    candidates = [d for d in DIVISIONS if source is None or level(d) is source]
    return draw(st.sampled_from(candidates))


_FROM_KINDS = {"allocate": ("available",), "integrate": ("available",), "commit": ("available", "pool"),
               "disburse": ("committed",), "strand": ("available", "pool", "committed"),
               "return": ("stranded", "committed"), "reallocate": ("returned",)}


def _sources(ledger: Ledger, op: str) -> list[AccountKey]:
    holders = _holding(ledger, *_FROM_KINDS[op])
    if op == "integrate":
        holders = [k for k in holders if level(k.division) is Level.COUNTY and CHANNELS[k.channel].integrable]
    elif op == "return":
        holders = [k for k in holders if k.division != NATIONAL]
    elif op in ("allocate", "reallocate"):
        holders = [k for k in holders if _lower(k.division)]
    return holders


def valid_posting(draw, ledger: Ledger, pid: str) -> tuple[Posting, bool]:
    """A posting that obeys its operation's rules; (posting, fits) where ``fits`` says whether the
    amount is within the from-account's balance (or the source is external)."""
    feasible = ["appropriate"] + [op for op in _FROM_KINDS if _sources(ledger, op)]
    op = draw(st.sampled_from(feasible))
    doc, ref = "文〔2017〕1号", None
    if op == "appropriate":
        ch = draw(st.sampled_from(CHANNEL_CODES))
        div = _source_division(draw, ch)
        year = draw(st.sampled_from(YEARS))
        src = AccountKey(div, "finance", ch, year, "appropriation")
        dst = src.replace(kind="available")
    else:
        src = draw(st.sampled_from(_sources(ledger, op)))
        if op in ("allocate", "reallocate"):
            dst = src.replace(division=draw(st.sampled_from(_lower(src.division))),
                              role=draw(st.sampled_from(["finance", "office"])), kind="available", reference=None)
        elif op == "integrate":
            dst = src.replace(kind="pool", reference=draw(st.sampled_from(PLANS)))
        elif op == "commit":
            ref = draw(st.sampled_from(PROJECTS))
            dst = src.replace(kind="committed", reference=ref)
            doc = ""
        elif op == "disburse":
            ref = draw(st.sampled_from(PAYEES))
            dst = src.replace(kind="disbursed", reference=ref)
            doc = ""
        elif op == "strand":
            dst = src.replace(kind="stranded")
            doc = ""
        else:  # return
            dst = src.replace(division=src.division[:2].ljust(12, "0"), role="finance", kind="returned",
                              reference=None)
    balance = ledger.balance(src)
    if src.is_external:
        amount = draw(st.integers(1, 10**12))
    else:
        amount = draw(st.integers(1, balance + 3))
    posting = Posting(pid, src, dst, amount, op, doc, date(2017, 5, 1), "prop", None, ref)
    return posting, src.is_external or amount <= balance


ALL_OPERATIONS = ["appropriate", "allocate", "integrate", "commit", "disburse", "strand", "return", "reallocate"]


def broken(draw, posting: Posting, ledger: Ledger) -> Posting:
    """A mutation of a valid posting that no rule can accept."""
    ways = ["amount", "channel", "year", "operation", "self"]
    if len(ledger):
        ways.append("duplicate")
    if posting.operation in ("appropriate", "allocate", "integrate", "return", "reallocate"):
        ways.append("document")
    how = draw(st.sampled_from(ways))
    event(f"invalid by {how}")
    if how == "amount":
        return _with(posting, amount_fen=draw(st.sampled_from([0, -1, -10**6, 2.5, True, "100", None, 10**16])))
    if how == "channel":
        other = draw(st.sampled_from([c for c in CHANNEL_CODES if c != posting.to.channel]))
        return _with(posting, to=posting.to.replace(channel=other))
    if how == "year":
        return _with(posting, to=posting.to.replace(fiscal_year=posting.to.fiscal_year + 1))
    if how == "operation":
        other = draw(st.sampled_from([op for op in ALL_OPERATIONS if op != posting.operation] + ["gift"]))
        return _with(posting, operation=other, document_no="文〔2017〕2号")
    if how == "duplicate":
        return _with(posting, posting_id=draw(st.sampled_from([p.posting_id for p in ledger.postings])))
    if how == "self":
        return _with(posting, to=posting.from_)
    return _with(posting, document_no="")


def _with(posting: Posting, **changes) -> Posting:
    data = {f: getattr(posting, f) for f in posting.__dataclass_fields__}
    data.update(changes)
    return Posting(**data)


def _snapshot(ledger: Ledger):
    return dict(ledger.balances), ledger.postings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_operations_keep_every_invariant(data):
    ledger = Ledger()
    model: dict[AccountKey, int] = {}
    steps = data.draw(st.integers(1, 40), label="steps")
    accepted = 0
    for step in range(steps):
        posting, fits = valid_posting(data.draw, ledger, f"p{step}")
        make_invalid = data.draw(st.integers(0, 3), label="invalid") == 0
        if make_invalid:
            posting, fits = broken(data.draw, posting, ledger), False
        before = _snapshot(ledger)
        try:
            new = ledger.apply(posting)
        except LedgerError:
            assert not fits, f"valid posting refused: {posting}"
            assert _snapshot(ledger) == before  # refused: nothing changed
            continue
        assert fits and not make_invalid, f"invalid posting accepted: {posting}"
        assert _snapshot(ledger) == before  # the old value is untouched
        ledger = new
        accepted += 1
        event(f"accepted {posting.operation}")
        for key, delta in ((posting.from_, -posting.amount_fen), (posting.to, posting.amount_fen)):
            model[key] = model.get(key, 0) + delta
        # invariants after every accepted posting
        assert ledger.total() == 0
        assert all(v >= 0 for k, v in ledger.balances.items() if not k.is_external)
        assert ledger.balances == {k: v for k, v in model.items() if v}
    ledger.check_invariants()
    assert Ledger.replay(ledger.postings) == ledger
    event(f"accepted {min(accepted, 20) // 10 * 10}+ postings")


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_every_trace_ends_at_an_appropriation(data):
    ledger = Ledger()
    for step in range(data.draw(st.integers(1, 40))):
        posting, fits = valid_posting(data.draw, ledger, f"p{step}")
        if fits:
            ledger = ledger.apply(posting)
    sinks = sorted({p.to for p in ledger.postings if p.to.kind == "disbursed"}, key=str)
    for sink in sinks:
        trail = ledger.trace(sink)
        assert trail and trail[-1].to == sink
        assert trail[0].operation == "appropriate"
        assert all(p.from_.channel == sink.channel and p.from_.fiscal_year == sink.fiscal_year for p in trail)
        positions = [ledger.postings.index(p) for p in trail]
        assert positions == sorted(positions)
