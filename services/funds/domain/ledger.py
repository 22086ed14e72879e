"""The funds ledger as a pure value (ARCHITECTURE.md "The funds ledger"; DOMAIN.md §4).

Double entry: every :class:`Posting` moves a positive amount of fen from one :class:`AccountKey`
to another, so the sum of all balances is always zero. External accounts (``appropriation``, the
source; ``disbursed``, the sink) may be negative/positive without bound; every other balance is
never below zero - a posting that would overdraw it is refused, not recorded.

State model (the documented choice): :class:`Ledger` is **immutable**. ``apply(posting)`` returns
a *new* ledger or raises a :class:`~.errors.LedgerError`, in which case the old one is untouched
(there is nothing to roll back). ``apply_all`` applies a sequence all-or-nothing and copies the
state only once, so replaying a long event stream (the auditor) is linear.

Accounts. ``AccountKey(division, role, channel, fiscal_year, kind, reference)``:

=============== ==================================================== ==========================
kind            meaning                                              reference
=============== ==================================================== ==========================
appropriation   external source: a level's budget appropriation       none
available       held by a division, not yet passed on or committed    none
pool            a county's integration pool (涉农资金整合)             integration plan id
committed       bound to a project                                    project code
stranded        滞留资金: can no longer be used where it is            where it was stuck (opt.)
returned        stranded money back at the province (省级财政)          none
disbursed       external sink: paid out (拨付) to a payee             payee
=============== ==================================================== ==========================

A channel and a fiscal year (the budget year of the money) are part of every key, and **no
operation changes the channel**: a county pool therefore keeps per-channel sub-balances by
construction, and returned money goes back through the original channel. Only the year-end
carry-forward (结转结余) changes the fiscal year, by exactly one, and nothing else.

Operations (``Posting.operation``) and what each may do:

=========== ============================== ==================================================
operation   from → to                      holder rule
=========== ============================== ==================================================
appropriate appropriation → available      same division; finance; the channel's source level
allocate    available → available          to a strictly lower division within the sender's
                                           jurisdiction (下达, 切块到县 may skip levels)
integrate   available → pool               same holder, county level, integrable channel
commit      available | pool → committed   same holder
disburse    committed → disbursed          same holder
strand      available | pool | committed   same holder; stranded keeps the from reference
            → stranded
return      stranded | committed           to the finance of the sender's province
            → returned
reallocate  returned → available           to a strictly lower division within the province
decommit    committed → available | pool   same holder: a project's unspent commitment back
                                           where it can be used again (its reference kept)
carry_forward available → available,       same holder, kind and reference; fiscal year + 1
            pool → pool                    (year-end close, 结转结余 seed 004 L27)
reverse     the original's to → from       冲正: the mirror image of an earlier posting (its
                                           posting id in ``reference``, a 文号 required);
                                           a posting is reversed at most once, a reversal or a
                                           carry-forward never, and only while the money is
                                           still there (no balance goes negative)
payment_    disbursed → committed          same holder: money the bank refused to pay (退票)
return                                     back to the project it was paid from (reference:
                                           the refused disbursement's posting id)
=========== ============================== ==================================================

Trace (资金流向全程追溯): :meth:`Ledger.trace` follows money backwards from an account (or every
account with a reference such as a payee or project code): the postings into it, then the postings
into their source accounts that happened *before* money left them, and so on up to the
appropriation. Money within one account is fungible, so the trace lists every posting that may
have funded the traced one - never one that came later.

Pure: no database, HTTP or Kafka. Money is int fen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from shared.divisions import NATIONAL, DivisionError, Level, level, normalize, within
from shared.money import MAX_FEN, format_fen

from .channels import CHANNELS
from .errors import DuplicatePosting, InsufficientFunds, InvalidAccount, InvalidAmount, InvalidPosting, YearClosed

__all__ = [
    "DOCUMENTED_OPERATIONS",
    "EXTERNAL_KINDS",
    "IRREVERSIBLE_OPERATIONS",
    "KINDS",
    "OPERATIONS",
    "OPERATION_KINDS",
    "REFERENCED_KINDS",
    "ROLES",
    "AccountKey",
    "Ledger",
    "Posting",
    "check_posting",
    "check_reversal",
    "check_sufficient",
    "check_year_open",
    "holdings_of",
    "books_written",
    "check_posting_like",
    "reversal_of",
    "province_of",
]

ROLES = ("finance", "office")
ROLE_LABELS = {"finance": "财政部门", "office": "扶贫办"}

KINDS = ("appropriation", "available", "pool", "committed", "stranded", "returned", "disbursed")
KIND_LABELS = {
    "appropriation": "预算拨款(外部来源)",
    "available": "可用资金",
    "pool": "整合资金池",
    "committed": "已安排到项目",
    "stranded": "滞留资金",
    "returned": "收回资金",
    "disbursed": "已拨付(外部去向)",
}
EXTERNAL_KINDS = frozenset({"appropriation", "disbursed"})
REFERENCED_KINDS = frozenset({"pool", "committed", "disbursed"})  # reference required
_OPTIONAL_REFERENCE_KINDS = frozenset({"stranded"})

OPERATIONS = ("appropriate", "allocate", "integrate", "commit", "disburse", "strand", "return", "reallocate",
              "decommit", "carry_forward", "reverse", "payment_return")
OPERATION_LABELS = {
    "appropriate": "预算拨款",
    "allocate": "资金下达",
    "integrate": "涉农资金整合",
    "commit": "安排到项目",
    "disburse": "资金拨付",
    "strand": "认定滞留资金",
    "return": "滞留资金收回",
    "reallocate": "收回资金调剂下达",
    "decommit": "项目结余资金退回",
    "carry_forward": "结转结余",
    "reverse": "冲正",
    "payment_return": "退票资金退回",
}
OPERATION_KINDS: Mapping[str, tuple[frozenset[str], str]] = MappingProxyType({
    "appropriate": (frozenset({"appropriation"}), "available"),
    "allocate": (frozenset({"available"}), "available"),
    "integrate": (frozenset({"available"}), "pool"),
    "commit": (frozenset({"available", "pool"}), "committed"),
    "disburse": (frozenset({"committed"}), "disbursed"),
    "strand": (frozenset({"available", "pool", "committed"}), "stranded"),
    "return": (frozenset({"stranded", "committed"}), "returned"),
    "reallocate": (frozenset({"returned"}), "available"),
    "decommit": (frozenset({"committed"}), "available"),  # or pool: see check_posting
    "carry_forward": (frozenset({"available", "pool"}), "available"),  # the same kind: see check_posting
    "reverse": (frozenset(KINDS), "available"),  # the original's mirror: judged by the Ledger / the store
    "payment_return": (frozenset({"disbursed"}), "committed"),
})
"""operation → (allowed kinds of the from account, kind of the to account)."""

DOCUMENTED_OPERATIONS = frozenset({"appropriate", "allocate", "integrate", "return", "reallocate", "carry_forward",
                                   "reverse"})
#: operations whose postings may not be reversed: a reversal (reverse the original's other
#: reversal instead: never), a carry-forward (a closed year is not reopened by a posting)
IRREVERSIBLE_OPERATIONS = frozenset({"reverse", "carry_forward"})
"""Operations that need a document number (文号); the others may leave it empty."""

_MIN_YEAR, _MAX_YEAR = 1990, 2100
_DEPTH = {lvl: i for i, lvl in enumerate(Level)}  # CENTRAL 0 … VILLAGE 5


def province_of(division: str) -> str:
    """The province (12 digits) a division belongs to; ``DivisionError`` for ``NATIONAL``."""
    full = normalize(division)
    if full == NATIONAL:
        raise DivisionError("中央没有所属省份 (the central level belongs to no province)")
    return full[:2].ljust(12, "0")


# --------------------------------------------------------------------------------------------
# accounts
# --------------------------------------------------------------------------------------------


class _HashSlot:
    """The slot in which :class:`AccountKey` keeps its hash (not a dataclass field: not compared,
    shown, converted or pickled)."""

    __slots__ = ("_hash",)
    _hash: int


_REFERENCE_KINDS = REFERENCED_KINDS | _OPTIONAL_REFERENCE_KINDS  # kinds that may carry a reference
_REFERENCE_NEEDED = {"pool": "整合方案编号 (integration plan id)", "committed": "项目编号 (project code)",
                     "disbursed": "收款人 (payee)"}


@dataclass(frozen=True, slots=True)
class AccountKey(_HashSlot):
    """One account. Validated on construction (raises :class:`InvalidAccount`); ``division`` is
    stored in its 12-digit form, so keys built from a prefix compare equal to full ones.

    Performance (the auditor replays millions of postings, each key in ~9 dict operations): slots,
    and the hash - the dataclass's own, of the field tuple - computed once on construction; a
    pickled key carries its fields only and is built (and hashed) again when loaded, since string
    hashes differ between processes."""

    division: str
    role: str
    channel: str
    fiscal_year: int
    kind: str
    reference: str | None = None

    def __post_init__(self) -> None:
        try:
            division = normalize(self.division)
        except DivisionError as exc:
            raise InvalidAccount(f"账户区划代码无效: {exc}", field="division") from None
        object.__setattr__(self, "division", division)
        if self.role not in ROLES:
            raise InvalidAccount(
                f"账户持有方角色无效 {self.role!r} (holder role must be one of {', '.join(ROLES)})", field="role"
            )
        channel = self.channel
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise InvalidAccount(
                f"未知资金渠道 {channel!r} (unknown fund channel {channel!r})", field="channel"
            )
        year = self.fiscal_year
        if isinstance(year, bool) or not isinstance(year, int) or not _MIN_YEAR <= year <= _MAX_YEAR:
            raise InvalidAccount(
                f"预算年度无效 {year!r} (fiscal year must be an int in {_MIN_YEAR}..{_MAX_YEAR})",
                field="fiscal_year",
            )
        kind = self.kind
        if kind not in KINDS:
            raise InvalidAccount(
                f"账户类型无效 {kind!r} (account kind must be one of {', '.join(KINDS)})", field="kind"
            )
        ref = self.reference
        if ref is None:
            if kind in REFERENCED_KINDS:
                raise InvalidAccount(
                    f"{KIND_LABELS[kind]}账户须注明{_REFERENCE_NEEDED[kind]} (a {kind} account needs a reference)",
                    field="reference",
                )
        elif not isinstance(ref, str) or not ref.strip():
            raise InvalidAccount(
                f"账户引用必须是非空字符串 (reference must be a non-empty string or None, got {ref!r})",
                field="reference",
            )
        elif kind not in _REFERENCE_KINDS:
            raise InvalidAccount(
                f"{KIND_LABELS[kind]}账户不带引用 (a {kind} account has no reference, got {ref!r})",
                field="reference",
            )
        if kind == "pool" or kind == "returned":  # the only kinds bound to a level
            lvl = level(division)
            if kind == "pool" and lvl is not Level.COUNTY:
                raise InvalidAccount(
                    f"整合资金池只设在县级 (an integration pool is held by a county, not a {lvl.value})",
                    field="division",
                )
            if kind == "returned" and lvl is not Level.PROVINCE:
                raise InvalidAccount(
                    f"收回资金账户只设在省级 (returned funds are held by a province, not a {lvl.value})",
                    field="division",
                )
        object.__setattr__(self, "_hash", hash((division, self.role, channel, year, kind, ref)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        # the dataclass's __eq__ (same class, equal field tuples), refusing most unequal keys by hash
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self is other or self._hash == other._hash and (
            self.division, self.role, self.channel, self.fiscal_year, self.kind, self.reference) == (
            other.division, other.role, other.channel, other.fiscal_year, other.kind, other.reference)

    def __reduce__(self) -> tuple[Any, ...]:
        return (AccountKey, (self.division, self.role, self.channel, self.fiscal_year, self.kind, self.reference))

    @property
    def is_external(self) -> bool:
        """Source (appropriation) or sink (disbursed): its balance is not bounded below."""
        return self.kind in EXTERNAL_KINDS

    @property
    def level(self) -> Level:
        return level(self.division)

    def as_dict(self) -> dict[str, Any]:
        return {
            "division": self.division,
            "role": self.role,
            "channel": self.channel,
            "fiscal_year": self.fiscal_year,
            "kind": self.kind,
            "reference": self.reference,
        }

    def replace(self, **changes: Any) -> AccountKey:
        if len(changes) == 1 and "reference" in changes and type(self) is AccountKey:
            return self.with_reference(changes["reference"])
        data = self.as_dict()
        data.update(changes)
        return AccountKey(**data)

    def with_reference(self, ref: Any) -> AccountKey:
        """``replace(reference=ref)``: another payee, project or plan of this key's holder.

        Of a valid key's rules only the reference's own depend on it, so a reference that keeps
        them is set without validating the rest again (the auditor builds one key per household
        paid this way); one that breaks them takes the full path, which raises as construction
        does. The slots are written through their descriptors: a frozen dataclass refuses
        ``setattr``, and ``object.__setattr__`` looks each name up again."""
        kind = self.kind
        if type(self) is AccountKey and (ref is None and kind not in REFERENCED_KINDS or type(ref) is str
                                         and ref.strip() and kind in _REFERENCE_KINDS):
            key = _new_key(AccountKey)
            division, role, channel, year = self.division, self.role, self.channel, self.fiscal_year
            _set_division(key, division)
            _set_role(key, role)
            _set_channel(key, channel)
            _set_year(key, year)
            _set_kind(key, kind)
            _set_reference(key, ref)
            _set_hash(key, hash((division, role, channel, year, kind, ref)))
            return key
        data = self.as_dict()
        data["reference"] = ref
        return AccountKey(**data)

    def __str__(self) -> str:
        ref = f"/{self.reference}" if self.reference is not None else ""
        return f"{self.division}:{self.role}:{self.channel}:{self.fiscal_year}:{self.kind}{ref}"


_new_key = object.__new__
_set_division, _set_role, _set_channel, _set_year, _set_kind, _set_reference = (
    getattr(AccountKey, name).__set__ for name in ("division", "role", "channel", "fiscal_year", "kind", "reference"))
_set_hash = _HashSlot.__dict__["_hash"].__set__  # the slot's descriptor


# --------------------------------------------------------------------------------------------
# postings
# --------------------------------------------------------------------------------------------


def finance_account(division: str, channel: str, fiscal_year: int, kind: str, reference: str | None = None) -> AccountKey:
    """The finance bureau's (``role`` finance) account of ``division``: every account a ledger
    operation and a disbursement batch names."""
    return AccountKey(division=division, role="finance", channel=channel, fiscal_year=fiscal_year, kind=kind,
                      reference=reference)


@dataclass(frozen=True, init=False)
class Posting:
    """One movement of money. Plain data: :func:`check_posting` (and :meth:`Ledger.apply`) judge
    it, so an invalid posting can be built, shown and refused with its reason.

    ``reference``: the project code (commit), payee (disburse) or integration plan (integrate) -
    when given it must equal the to-account's reference; for strand/return from a commitment the
    project code (must equal the from-account's reference); free otherwise (e.g. a batch line's
    idempotency reference is *not* this field - keep it in the event).
    """

    posting_id: str
    from_: AccountKey
    to: AccountKey
    amount_fen: int
    operation: str
    document_no: str
    document_date: date
    actor: str
    purpose: str | None = None
    reference: str | None = None

    def __init__(self, posting_id: str, from_: AccountKey, to: AccountKey, amount_fen: int, operation: str,
                 document_no: str, document_date: date, actor: str, purpose: str | None = None,
                 reference: str | None = None) -> None:
        # The dataclass's own __init__, without a frozen dataclass's object.__setattr__ per field
        # (a third of the cost; the auditor builds a Posting per event). Same fields, same order.
        fields = self.__dict__
        fields["posting_id"] = posting_id
        fields["from_"] = from_
        fields["to"] = to
        fields["amount_fen"] = amount_fen
        fields["operation"] = operation
        fields["document_no"] = document_no
        fields["document_date"] = document_date
        fields["actor"] = actor
        fields["purpose"] = purpose
        fields["reference"] = reference

    def as_dict(self) -> dict[str, Any]:
        return {
            "posting_id": self.posting_id,
            "from": self.from_.as_dict(),
            "to": self.to.as_dict(),
            "amount_fen": self.amount_fen,
            "operation": self.operation,
            "document_no": self.document_no,
            "document_date": self.document_date.isoformat(),
            "actor": self.actor,
            "purpose": self.purpose,
            "reference": self.reference,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Posting:
        """Inverse of :meth:`as_dict` (the auditor rebuilds postings from event data)."""
        doc_date = data["document_date"]
        return cls(
            posting_id=data["posting_id"],
            from_=AccountKey(**data["from"]),
            to=AccountKey(**data["to"]),
            amount_fen=data["amount_fen"],
            operation=data["operation"],
            document_no=data["document_no"],
            document_date=date.fromisoformat(doc_date) if isinstance(doc_date, str) else doc_date,
            actor=data["actor"],
            purpose=data.get("purpose"),
            reference=data.get("reference"),
        )


_HOLDER_FIELDS = itemgetter("division", "role", "channel", "fiscal_year", "kind")


class PostingReader:
    """``Posting.from_dict`` with each distinct account key built once.

    ``from_dict`` validates both keys of every posting (division normalisation, level, channel),
    which is much of a million-posting replay; keys repeat, so each is built once by the domain's
    own ``AccountKey`` and reused. The cache is keyed by the six field values - the holder's five,
    then the reference (two small look-ups instead of one in a table of every account: the
    auditor's has one per household paid) - and used only for a plain dict of exactly the six
    fields with an ``int`` year: anything else (a missing or unknown field, a year of another type
    that compares equal, such as ``2018.0``, a value that cannot be a dict key) is built - and
    judged - on its own, as ``from_dict`` does. A new reference of a known holder is set on its
    first key by ``AccountKey.with_reference``. Document dates are parsed once per distinct
    string. The fast path of ``Posting.from_dict`` next to it, as ``AccountKey.replace`` and
    ``Posting.__init__`` are of theirs; tests/unit/funds/test_ledger_performance_forms.py and
    tests/unit/audit/test_rebuild.py hold them equal.
    """

    def __init__(self) -> None:
        #: holder's five field values → (the first key built for it, reference → key)
        self.holders: dict[tuple, tuple[AccountKey, dict[Any, AccountKey]]] = {}
        self.dates: dict[str, date] = {}

    def __len__(self) -> int:
        """How many distinct keys were built."""
        return sum(len(keys) for _, keys in self.holders.values())

    def key(self, data: Mapping[str, Any]) -> AccountKey:
        if type(data) is dict and len(data) == 6:
            try:
                holder, reference = _HOLDER_FIELDS(data), data["reference"]
                cached = type(holder[3]) is int  # not 2018.0, which would find 2018's keys
                known = self.holders.get(holder) if cached else None
                found = None if known is None else known[1].get(reference)
            except (KeyError, TypeError):  # an unknown field, a value that cannot be a key: AccountKey judges it
                cached = False
            if not cached:
                return AccountKey(**data)
            return self._build(holder, reference, known) if found is None else found
        return AccountKey(**data)

    def known_key(self, holder: tuple[str, str, str, int, str], reference: str | None) -> AccountKey:
        """:meth:`key` of fields already known to be plain: a holder's five values (str division,
        role, channel and kind, an ``int`` year, in :data:`_HOLDER_FIELDS` order) and a reference
        (a str or None) - a reader that decoded them typed (the auditor's, from an export line)."""
        known = self.holders.get(holder)
        found = None if known is None else known[1].get(reference)
        return self._build(holder, reference, known) if found is None else found

    def _build(self, holder: tuple, reference: Any, known: tuple[AccountKey, dict[Any, AccountKey]] | None) -> AccountKey:
        if known is None:
            division, role, channel, fiscal_year, kind = holder
            found = AccountKey(division, role, channel, fiscal_year, kind, reference)
            self.holders[holder] = (found, {reference: found})
        else:  # a new payee, project or plan of a known holder (the auditor: one per household paid)
            found = known[1][reference] = known[0].with_reference(reference)
        return found

    def day(self, text: Any) -> Any:
        if type(text) is str:
            found = self.dates.get(text)
            if found is None:
                found = self.dates[text] = date.fromisoformat(text)
            return found
        return date.fromisoformat(text) if isinstance(text, str) else text

    def posting(self, data: Mapping[str, Any]) -> Posting:
        # what from_dict reads, in its order (the first problem found is the one reported)
        doc_date = data["document_date"]
        key = self.key
        return Posting(data["posting_id"], key(data["from"]), key(data["to"]), data["amount_fen"],
                       data["operation"], data["document_no"], self.day(doc_date), data["actor"],
                       data.get("purpose"), data.get("reference"))


def _bad(code: str, zh: str, en: str, **ext: Any) -> InvalidPosting:
    return InvalidPosting(f"{zh} ({en})", code=code, **ext)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _strictly_below(lower: str, upper: str) -> bool:
    return within(lower, upper) and _DEPTH[level(lower)] > _DEPTH[level(upper)]



# -- the holder and reference rules of each operation (check_posting's last step) ---------------------
# Each rule takes the posting and the error's extensions and raises InvalidPosting when broken.


def _same_holder(p: Posting, ext: dict[str, Any]) -> None:
    if p.from_.division != p.to.division or p.from_.role != p.to.role:
        op = p.operation
        raise _bad(f"{op}_other_holder", f"{OPERATION_LABELS[op]}须在同一持有方内",
                   f"{op} stays with the same holder (division and role)", **ext)


def _booked_at_own_level(p: Posting, ext: dict[str, Any]) -> None:
    src, dst = p.from_, p.to
    if src.division != dst.division:
        raise _bad("appropriate_other_division", "预算拨款记入本级账户",
                   "an appropriation is booked to the appropriating division itself", **ext)
    if src.role != "finance":
        raise _bad("appropriate_not_finance", "预算拨款由财政部门列支", "an appropriation is made by finance", **ext)
    source_level = CHANNELS[src.channel].source_level
    if source_level is not None and src.level is not source_level:
        raise _bad("appropriate_wrong_level", f"该渠道资金由{source_level.label_zh}级安排",
                   f"channel {src.channel} is appropriated at {source_level.value} level, "
                   f"not {src.level.value}", **ext)


def _to_a_lower_division(p: Posting, ext: dict[str, Any]) -> None:
    if not _strictly_below(p.to.division, p.from_.division):
        op = p.operation
        raise _bad(f"{op}_not_lower", "资金只能下达到本级管辖范围内的下级",
                   f"{op} goes to a strictly lower division within the sender's jurisdiction "
                   f"({p.from_.division} → {p.to.division})", **ext)


def _integrated_in_own_pool(p: Posting, ext: dict[str, Any]) -> None:
    src, dst = p.from_, p.to
    if src.division != dst.division or src.role != dst.role:
        raise _bad("integrate_other_holder", "整合资金池属于本县同一部门",
                   "integration moves money into the same county holder's pool", **ext)
    if not CHANNELS[src.channel].integrable:
        raise _bad("channel_not_integrable", "该渠道资金不在统筹整合范围 (国办发〔2016〕22号)",
                   f"channel {src.channel} may not be integrated", **ext)


def _back_to_own_province(p: Posting, ext: dict[str, Any]) -> None:
    src, dst = p.from_, p.to
    if src.division == NATIONAL or dst.division != province_of(src.division) or dst.role != "finance":
        raise _bad("return_not_to_province", "滞留资金全额返还所属省级财政",
                   "stranded money goes back to the finance of its own province", **ext)


def _reference_is_the_targets(p: Posting, ext: dict[str, Any]) -> None:
    if p.reference is not None and p.reference != p.to.reference:
        raise _bad("reference_mismatch", "分录引用与收方账户引用不一致",
                   f"the posting reference {p.reference!r} must equal the to-account's {p.to.reference!r}", **ext)


def _reference_is_the_project(p: Posting, ext: dict[str, Any]) -> None:
    src = p.from_
    if src.kind == "committed" and p.reference is not None and p.reference != src.reference:
        raise _bad("reference_mismatch", "分录引用与项目不一致",
                   f"the posting reference {p.reference!r} must equal the project {src.reference!r}", **ext)


def _stranded_keeps_reference(p: Posting, ext: dict[str, Any]) -> None:
    if p.to.reference != p.from_.reference:
        raise _bad("reference_mismatch", "滞留资金须保留原项目/方案引用",
                   f"stranded money keeps the reference of where it was ({p.from_.reference!r})", **ext)


def _names_its_original(p: Posting, ext: dict[str, Any]) -> None:
    if p.reference is None:
        raise _bad("reversal_without_original", "冲正须注明被冲正的分录编号",
                   "a reversal names the posting it reverses (its posting id as the reference)", **ext)
    if p.reference == p.posting_id:
        raise _bad("reversal_of_itself", "冲正分录不能冲正自身", "a reversal cannot reverse itself", **ext)


#: operation → its holder and reference rules, checked in this order after the kinds, the channel
#: and the fiscal year (the module table's "holder rule" column). The kinds a decommit, a
#: reversal and a carry-forward may move to, beside OPERATION_KINDS: see _OTHER_TO_KINDS.
OPERATION_RULES: Mapping[str, tuple[Callable[[Posting, dict[str, Any]], None], ...]] = MappingProxyType({
    "appropriate": (_booked_at_own_level,),
    "allocate": (_to_a_lower_division,),
    "integrate": (_integrated_in_own_pool, _reference_is_the_targets),
    "commit": (_same_holder, _reference_is_the_targets),
    "disburse": (_same_holder, _reference_is_the_targets),
    "strand": (_same_holder, _stranded_keeps_reference, _reference_is_the_project),
    "return": (_back_to_own_province, _reference_is_the_project),
    "reallocate": (_to_a_lower_division,),
    "decommit": (_same_holder, _reference_is_the_project),
    "carry_forward": (),  # same holder, kind, reference, year + 1: checked with the fiscal year
    "reverse": (_names_its_original,),
    "payment_return": (_same_holder,),
})
_OTHER_TO_KINDS: Mapping[str, tuple[str, ...]] = {"decommit": ("available", "pool"), "reverse": KINDS}


def _check_texts_and_sides(p: Posting, src: AccountKey, dst: AccountKey, ext: dict[str, Any]) -> None:
    """:func:`check_posting`'s checks of the purpose, the reference and the two accounts being one."""
    value = p.purpose
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _bad("invalid_purpose", "purpose 必须是非空字符串", "purpose must be a non-empty string or None", **ext)
    value = p.reference
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _bad("invalid_reference", "reference 必须是非空字符串", "reference must be a non-empty string or None",
                   **ext)
    if src == dst:
        raise _bad("same_account", "付方与收方为同一账户", "from and to are the same account", **ext)


def check_posting(posting: Posting) -> None:
    """Everything about a posting that does not depend on balances: types, a positive amount,
    the operation's account kinds, the channel and fiscal year kept, and the holder rule of the
    operation (see the module table; its rules are :data:`OPERATION_RULES`). Raises
    :class:`InvalidAmount` or :class:`InvalidPosting` (``code`` names the broken rule)."""
    if not isinstance(posting, Posting):
        raise _bad("not_a_posting", "不是记账分录", f"expected a Posting, got {type(posting).__name__}")
    p = posting
    amount = p.amount_fen
    if type(amount) is not int and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise InvalidAmount(
            f"金额必须是整数分 (amount must be an int of fen, got {type(amount).__name__})",
            posting_id=str(p.posting_id),
        )
    if amount <= 0 or amount > MAX_FEN:
        raise InvalidAmount(
            f"金额必须为正且不超过上限 (amount must be > 0 and ≤ {MAX_FEN} fen, got {amount})",
            posting_id=str(p.posting_id),
        )
    # _is_text inlined below (this runs for every posting the auditor replays); same checks, same order
    posting_id = p.posting_id
    if not isinstance(posting_id, str) or not posting_id.strip():
        raise _bad("missing_posting_id", "缺少分录编号", "a posting needs a non-empty posting id")
    src, dst, op = p.from_, p.to, p.operation
    ext = {"posting_id": posting_id, "operation": str(op)}
    if not isinstance(op, str) or op not in OPERATION_KINDS:  # (a list, say: not even a key to look up)
        raise _bad("unknown_operation", f"未知操作 {op!r}",
                   f"operation must be one of {', '.join(OPERATIONS)}", **ext)
    if not isinstance(src, AccountKey) or not isinstance(dst, AccountKey):
        raise _bad("not_an_account", "付方和收方必须是账户", "from and to must be AccountKey values", **ext)
    document_date = p.document_date
    if not isinstance(document_date, date) or isinstance(document_date, datetime):
        raise _bad("invalid_document_date", "文件日期无效", "document_date must be a date", **ext)
    actor = p.actor
    if not isinstance(actor, str) or not actor.strip():
        raise _bad("missing_actor", "缺少操作人", "a posting needs the actor's subject", **ext)
    document_no = p.document_no
    if not isinstance(document_no, str):
        raise _bad("invalid_document_no", "文号必须是字符串", "document_no must be a string", **ext)
    if op in DOCUMENTED_OPERATIONS and not document_no.strip():
        raise _bad("missing_document_no", f"{OPERATION_LABELS[op]}须有文号",
                   f"{op} needs a document number (文号)", **ext)
    _check_texts_and_sides(p, src, dst, ext)
    from_kinds, to_kind = OPERATION_KINDS[op]
    to_kinds = (src.kind,) if op == "carry_forward" else _OTHER_TO_KINDS.get(op, (to_kind,))
    if src.kind not in from_kinds or dst.kind not in to_kinds:
        allowed = "|".join(sorted(from_kinds))
        target = "|".join(to_kinds) if op != "carry_forward" else "the same kind"
        raise _bad("wrong_kinds", f"{OPERATION_LABELS[op]}应为 {allowed} → {target}",
                   f"{op} moves {allowed} → {target}, not {src.kind} → {dst.kind}", **ext)
    if src.channel != dst.channel:
        raise _bad("channel_changed", "资金须保持原管理渠道",
                   f"money keeps its channel: {src.channel} → {dst.channel}", **ext)
    if op == "carry_forward":
        if dst.fiscal_year != src.fiscal_year + 1:
            raise _bad("carry_forward_year", "结转结余结转到下一预算年度",
                       f"a carry-forward moves money into the next fiscal year: {src.fiscal_year} → "
                       f"{src.fiscal_year + 1}, not {dst.fiscal_year}", **ext)
        if src.division != dst.division or src.role != dst.role or src.reference != dst.reference:
            raise _bad("carry_forward_other_account", "结转结余保持原持有方、原整合方案",
                       "a carry-forward keeps the holder and the reference (integration plan)", **ext)
    elif src.fiscal_year != dst.fiscal_year and op != "reverse":  # a reversal: the mirror of its original
        raise _bad("fiscal_year_changed", "资金须保持预算年度",
                   f"money keeps its fiscal year: {src.fiscal_year} → {dst.fiscal_year}", **ext)

    for rule in OPERATION_RULES[op]:
        rule(p, ext)

def check_posting_like(posting: Posting, model: Posting) -> None:
    """:func:`check_posting` for a posting built like ``model``, which it accepted: the same
    from-account object, operation, document and actor, and a to-account of the same kind of
    holder, channel, year and kind (``model.to.replace(reference=…)``) — a batch's lines. Only the
    checks that can tell such postings apart run (the amount, the ids and texts of the line, the
    two accounts being one, the operation's rules), in :func:`check_posting`'s order, so the first
    failure is the one it raises; any other posting takes :func:`check_posting` itself
    (tests/unit/funds/test_ledger_performance_forms.py checks that they agree)."""
    src, dst, like = posting.from_, posting.to, model.to
    if not (type(posting) is Posting and src is model.from_ and posting.operation is model.operation
            and posting.document_no is model.document_no and posting.document_date is model.document_date
            and posting.actor is model.actor and type(dst) is AccountKey and dst.kind is like.kind
            and dst.division is like.division and dst.role is like.role and dst.channel is like.channel
            and dst.fiscal_year is like.fiscal_year and posting.operation != "carry_forward"):
        check_posting(posting)  # (a carry-forward's check of the references is the accounts')
        return
    p = posting
    amount = p.amount_fen
    if type(amount) is not int or amount <= 0 or amount > MAX_FEN:
        check_posting(posting)  # raises the amount's error
        return
    posting_id = p.posting_id
    if not isinstance(posting_id, str) or not posting_id.strip():
        raise _bad("missing_posting_id", "缺少分录编号", "a posting needs a non-empty posting id")
    op = p.operation
    ext = {"posting_id": posting_id, "operation": str(op)}
    _check_texts_and_sides(p, src, dst, ext)
    for rule in OPERATION_RULES[op]:
        rule(p, ext)


def reversal_of(original: Posting, *, posting_id: str, document_no: str, document_date: date, actor: str) -> Posting:
    """The reversal (冲正) of ``original``: the same amount back from its to-account to its
    from-account, citing it (its posting id as ``reference``); judged by :func:`check_reversal`."""
    return Posting(posting_id=posting_id, from_=original.to, to=original.from_, amount_fen=original.amount_fen,
                   operation="reverse", document_no=document_no, document_date=document_date, actor=actor,
                   purpose=original.purpose, reference=original.posting_id)


def check_reversal(reversal: Posting, original: Posting | None, reversed_by: str | None = None) -> None:
    """Refuse a reversal that is not the exact mirror of an existing, reversible posting not yet
    reversed (``reversed_by``: the id of an earlier reversal of ``original``, if any). Balances
    are judged apart (:func:`check_sufficient`): money that has moved on cannot be reversed."""
    ext = {"posting_id": reversal.posting_id, "operation": "reverse", "reverses": reversal.reference}
    if original is None:
        raise _bad("reversal_unknown_posting", f"被冲正的分录不存在 {reversal.reference!r}",
                   f"no posting {reversal.reference!r} to reverse", **ext)
    if original.operation in IRREVERSIBLE_OPERATIONS:
        raise _bad("reversal_not_allowed", f"{OPERATION_LABELS[original.operation]}分录不能冲正",
                   f"a {original.operation} posting cannot be reversed", **ext)
    if reversed_by is not None:
        raise _bad("already_reversed", f"该分录已被冲正 (分录 {reversed_by})",
                   f"posting {original.posting_id} was already reversed by {reversed_by}", reversed_by=reversed_by,
                   **ext)
    if (reversal.from_, reversal.to, reversal.amount_fen) != (original.to, original.from_, original.amount_fen):
        raise _bad("reversal_mismatch", "冲正须与原分录金额相同、方向相反",
                   "a reversal moves the original's amount back from its to-account to its from-account", **ext)


#: A holder's books of one fiscal year: (division, role, fiscal_year).
Holding = tuple[str, str, int]


def holdings_of(posting: Posting) -> set[Holding]:
    """The books (division, role, fiscal year) a posting writes into: those of its non-external
    accounts (an appropriation or a disbursement leaves the ledger on one side only)."""
    return {(k.division, k.role, k.fiscal_year) for k in (posting.from_, posting.to) if not k.is_external}


def books_written(postings: Iterable[Posting]) -> set[Holding]:
    """The union of :func:`holdings_of` over ``postings``, each distinct account object looked at
    once (a batch's postings share their from-account)."""
    keys: dict[int, AccountKey] = {}
    for p in postings:
        keys[id(p.from_)] = p.from_
        keys[id(p.to)] = p.to
    return {(k.division, k.role, k.fiscal_year) for k in keys.values() if k.kind not in EXTERNAL_KINDS}


def check_year_open(posting: Posting, closes: Mapping[Holding, Mapping[str, Any]], *, rule_id: str,
                    citation: str) -> None:
    """Refuse (409 :class:`YearClosed`) a posting into the books of a year that was closed and
    carried forward: ``closes`` maps the closed holdings to their close (``document_no``,
    ``document_date``, ``event_seq``). The rule and its citation name why (结转结余)."""
    for holding in sorted(holdings_of(posting)):
        close = closes.get(holding)
        if close is None:
            continue
        division, role, year = holding
        raise YearClosed(
            f"{division}的{year}年度已结转结余 ({close['document_no']})，不能再记入该年度；请记入{year + 1}年度 "
            f"(the fiscal year {year} of {division} was closed by {close['document_no']} (event {close['event_seq']}); "
            f"post into {year + 1}; {citation})",
            division=division, role=role, fiscal_year=year, operation=posting.operation, posting_id=posting.posting_id,
            close={"document_no": close["document_no"], "document_date": str(close["document_date"]),
                   "seq": close["event_seq"]}, rule=rule_id, citation=citation)


def check_sufficient(posting: Posting, from_balance_fen: int) -> None:
    """Refuse a posting that would take its (non-external) from-account below zero, given that
    account's current balance - for callers that keep balances elsewhere (rows with locks)."""
    if posting.from_.is_external:
        return
    if from_balance_fen - posting.amount_fen < 0:
        raise InsufficientFunds(
            f"{KIND_LABELS[posting.from_.kind]}余额不足：余额 {format_fen(from_balance_fen)} 元，"
            f"需 {format_fen(posting.amount_fen)} 元 (insufficient funds in {posting.from_}: balance "
            f"{format_fen(from_balance_fen)} yuan, posting {format_fen(posting.amount_fen)} yuan)",
            posting_id=posting.posting_id,
            account=posting.from_.as_dict(),
            balance=format_fen(from_balance_fen),
            amount=format_fen(posting.amount_fen),
        )


# --------------------------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------------------------


class Ledger:
    """Balances by account and the postings that produced them. Immutable: every method that
    changes something returns a new :class:`Ledger`. Zero balances are not stored."""

    __slots__ = ("_balances", "_postings", "_ids", "_reversed")

    def __init__(self) -> None:
        self._balances: dict[AccountKey, int] = {}
        self._postings: tuple[Posting, ...] = ()
        self._ids: frozenset[str] = frozenset()
        self._reversed: dict[str, str] = {}  # original posting id → its reversal's id (never changed in place)

    @classmethod
    def replay(cls, postings: Iterable[Posting]) -> Ledger:
        """The ledger that ``postings`` produce from empty (all-or-nothing)."""
        return cls().apply_all(postings)

    # -- changing -------------------------------------------------------------------------------

    def apply(self, posting: Posting) -> Ledger:
        """A new ledger with ``posting`` applied; raises a :class:`LedgerError` (and this ledger
        stays as it is) when the posting is invalid, its id is taken or it would overdraw."""
        return self.apply_all((posting,))

    def apply_all(self, postings: Iterable[Posting]) -> Ledger:
        """Apply ``postings`` in order, all or nothing: the first refused one raises (with its
        ``posting_id`` and ``index`` in the error) and nothing is applied."""
        balances = dict(self._balances)
        ids = set(self._ids)
        added: list[Posting] = []
        reversed_: dict[str, str] | None = None  # copied on the first reversal only
        # one loop, no call per posting (the auditor replays a million postings through here):
        # check_posting, the id, a reversal's original, check_sufficient, then both balances
        get, pop, append = balances.get, balances.pop, added.append
        for index, posting in enumerate(postings):
            try:
                check_posting(posting)
                posting_id = posting.posting_id
                if posting_id in ids:
                    raise DuplicatePosting(
                        f"分录编号已存在 (posting id {posting_id!r} is already in the ledger)",
                        posting_id=posting_id,
                    )
                if posting.operation == "reverse":
                    if reversed_ is None:
                        reversed_ = dict(self._reversed)
                    reference = posting.reference
                    assert reference is not None  # check_posting refused a reversal naming no posting
                    original = self._find(reference, added) if reference in ids else None
                    check_reversal(posting, original, reversed_.get(reference))
                    reversed_[reference] = posting_id
                src, dst, amount = posting.from_, posting.to, posting.amount_fen
                value = get(src, 0)
                if value < amount:  # would overdraw: refused unless the account is external
                    check_sufficient(posting, value)
                value -= amount
                if value:
                    balances[src] = value
                else:
                    pop(src, None)
                value = get(dst, 0) + amount
                if value:
                    balances[dst] = value
                else:
                    pop(dst, None)
                ids.add(posting_id)
            except Exception as exc:
                if hasattr(exc, "extensions"):
                    exc.extensions.setdefault("index", index)
                raise
            append(posting)
        new = Ledger.__new__(Ledger)
        new._balances = balances
        new._postings = self._postings + tuple(added)
        new._ids = frozenset(ids)
        new._reversed = self._reversed if reversed_ is None else reversed_
        return new

    def _find(self, posting_id: str | None, pending: list[Posting]) -> Posting | None:
        for posting in reversed(pending):
            if posting.posting_id == posting_id:
                return posting
        for posting in reversed(self._postings):
            if posting.posting_id == posting_id:
                return posting
        return None

    # -- reading --------------------------------------------------------------------------------

    @property
    def balances(self) -> Mapping[AccountKey, int]:
        """Every non-zero balance (read-only view)."""
        return MappingProxyType(self._balances)

    @property
    def reversals(self) -> Mapping[str, str]:
        """Original posting id → the id of the reversal (冲正) that reversed it (read-only view)."""
        return MappingProxyType(self._reversed)

    @property
    def postings(self) -> tuple[Posting, ...]:
        """Every applied posting, in order."""
        return self._postings

    def balance(self, key: AccountKey) -> int:
        return self._balances.get(key, 0)

    def total(self) -> int:
        """Sum of all balances: zero, always (double entry)."""
        return sum(self._balances.values())

    def select(
        self,
        *,
        division: str | None = None,
        role: str | None = None,
        channel: str | None = None,
        fiscal_year: int | None = None,
        kind: str | None = None,
        reference: str | None = None,
        exact_division: bool = False,
    ) -> dict[AccountKey, int]:
        """Non-zero balances matching every given filter; ``division`` is a jurisdiction (all
        accounts under it) unless ``exact_division``."""
        div = normalize(division) if division is not None else None
        out: dict[AccountKey, int] = {}
        for key, value in self._balances.items():
            if div is not None and (key.division != div if exact_division else not within(key.division, div)):
                continue
            if role is not None and key.role != role:
                continue
            if channel is not None and key.channel != channel:
                continue
            if fiscal_year is not None and key.fiscal_year != fiscal_year:
                continue
            if kind is not None and key.kind != kind:
                continue
            if reference is not None and key.reference != reference:
                continue
            out[key] = value
        return out

    def sum(self, **filters: Any) -> int:
        """Sum of :meth:`select` with the same filters."""
        return sum(self.select(**filters).values())

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the total is not zero or a non-external balance is negative
        (cannot happen through ``apply``; for auditors and tests)."""
        total = self.total()
        if total != 0:
            raise AssertionError(f"ledger total is {total}, not 0")
        for key, value in self._balances.items():
            if value < 0 and not key.is_external:
                raise AssertionError(f"non-external account {key} is negative: {value}")

    def trace(self, target: AccountKey | str | frozenset[AccountKey]) -> list[Posting]:
        """资金流向全程追溯: the postings money may have come through to reach ``target`` - an
        account, a set of accounts, or a reference (payee, project code, integration plan id)
        meaning every account carrying it - in ledger order, from the appropriation down to the target.

        Walks the postings backwards once: a posting is part of the trace when its to-account is
        a target or a source of a later posting already in the trace; only money that arrived
        before it left counts.
        """
        if isinstance(target, AccountKey):
            match: Callable[[AccountKey], bool] = target.__eq__
        elif isinstance(target, frozenset) and target:
            match = target.__contains__
        elif isinstance(target, str) and target.strip():
            match = lambda key: key.reference == target  # noqa: E731
        else:
            raise TypeError(f"trace needs an AccountKey or a reference string, got {target!r}")
        active: set[AccountKey] = set()
        found: list[Posting] = []
        for posting in reversed(self._postings):
            if posting.to in active or match(posting.to):
                found.append(posting)
                active.add(posting.from_)
        found.reverse()
        return found

    # -- dunder ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._postings)

    def __iter__(self) -> Iterator[Posting]:
        return iter(self._postings)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ledger):
            return NotImplemented
        return self._postings == other._postings and self._balances == other._balances

    def __hash__(self) -> int:
        return hash(self._postings)

    def __repr__(self) -> str:
        return f"Ledger({len(self._postings)} postings, {len(self._balances)} non-zero accounts)"
