"""The funds service's published event shapes, as other services and the auditor read them.

Every posting is in an event. Readers go through :func:`postings_of`, which turns any posting
event into the postings it carries, each as one dict of the shape below.

**One event per posting** (version 1 of the types in ``EVENT_TYPES``, named for the operation):
``data`` is the posting (``Posting.as_dict``: ``posting_id``, ``from`` and ``to`` account keys,
``amount_fen``, ``operation``, ``document_no``, ``document_date``, ``actor``, ``purpose``,
``reference``) plus ``amount`` (yuan string), ``on`` (document date) and operation-specific extras.
The project of a posting: ``reference`` of a commitment (``to`` is the project's ``committed``
account), ``project_code`` of a disbursement (which also carries ``payee`` {kind: enterprise|
cooperative|household|contractor, name, household_id?} and ``reference``, its line reference or
payee) and of a stranding (``from`` is the project's ``committed`` account).

**Disbursement batches** (``funds.disbursement.batch_posted``, ``data.v == 1``; since revision
0006 of the funds schema): the lines of one ``POST /disbursement-batches`` that were posted, one
event per part of at most ``POSTINGS_PER_BATCH_EVENT`` postings of one channel and fiscal year
(lines in envelope order within a part; ``subject`` = the batch reference). ``data``::

    {"v": 1, "batch_ref": "精财拨〔2017〕30号", "part": 1, "parts": 3,
     "operation": "disburse", "division": "652722000000", "role": "finance",
     "channel": "central_special", "fiscal_year": 2017,
     "document_no": "…", "document_date": "2017-06-20", "actor": "<subject of the token>",
     "fields": ["posting_id", "line_ref", "project_code", "payee_kind", "payee_name", "household_id",
                "amount_fen", "purpose"],
     "postings": [["0192…", "L-1", "P-1", "household", "王某", "0192…", 300000, null], …]}

Each row is one posting: ``from`` is (division, role, channel, fiscal_year, ``committed``,
project_code), ``to`` is (division, role, channel, fiscal_year, ``disbursed``, payee reference), and
the posting's ``reference`` is that payee reference, :func:`payee_reference` of the row's payee:
``"<payee_kind>:<household_id or payee_name>"``. :func:`postings_of` returns each row as a dict
with the keys a batch line's version-1 ``funds.disbursement.posted`` event had in ``data`` — the
posting (``Posting.as_dict``), ``amount``, ``on``, ``payee``, ``project_code``, ``reference``,
``batch_ref`` — plus ``line_ref``. One difference in value: there ``reference`` is the line
reference (an extra that overwrote the posting's own), so ``Posting.from_dict`` of such data does
not give back the posting that was made (its reference no longer matches the payee account); here
``reference`` stays the posting's and the line reference is ``line_ref``. Readers wanting the line
reference of either shape: ``posting.get("line_ref") or posting["reference"]``.

Rows are arrays, not objects: half the size of the log and of the hashing. A posting row's
``postings.event_seq`` is the seq of the event that carries it, so several postings may share one.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

# The funds domain other services reuse (rule 6: the auditor rebuilds with the same functions);
# published here so that nothing outside funds imports ``services.funds.domain`` itself.
from services.funds.domain import (
    CHANNEL_LABELS as CHANNEL_LABELS,
    CHANNELS as CHANNELS,
    AccountKey as AccountKey,
    Deadline as Deadline,
    Ledger as Ledger,
    LedgerError as LedgerError,
    NegativeListPurpose as NegativeListPurpose,
    Posting as Posting,
    PostingReader as PostingReader,
    UnknownPurpose as UnknownPurpose,
    allocate_by_factors as allocate_by_factors,
    check_purpose as check_purpose,
    evaluate as evaluate,
    management_fee_ok as management_fee_ok,
)
from services.funds.domain import code_lists as _code_lists
from services.funds.domain.ledger import KIND_LABELS as KIND_LABELS, OPERATION_LABELS as OPERATION_LABELS
from services.funds.domain.payments import TRANSITIONS as PAYMENT_TRANSITIONS
from shared.money import format_fen

# the code lists other services' catalogues show beside their own
ACCOUNT_KIND_VOCABULARY = _code_lists.ACCOUNT_KIND
CHANNEL_VOCABULARY = _code_lists.CHANNEL
PAYEE_KIND_VOCABULARY = _code_lists.PAYEE_KIND
OPERATION_VOCABULARY = _code_lists.OPERATION

EVENT_TYPES: dict[str, str] = {
    "appropriate": "funds.appropriation.posted",
    "allocate": "funds.allocation.issued",
    "integrate": "funds.integration.posted",
    "commit": "funds.commitment.posted",
    "disburse": "funds.disbursement.posted",
    "strand": "funds.stranding.posted",
    "return": "funds.return.posted",
    "reallocate": "funds.reallocation.posted",
    "decommit": "funds.decommitment.posted",
    "carry_forward": "funds.carry_forward.posted",
    "reverse": "funds.reversal.posted",
    "payment_return": "funds.payment_return.posted",
}
DISBURSEMENT_BATCH_POSTED = "funds.disbursement.batch_posted"

#: Money that leaves the system (issue 15). Account numbers are never in these events: only
#: ``account_no`` masked (``****1234``) and the account record's id.
#:
#: * ``funds.bank_account.registered`` (subject: the holder, a payee reference or ``special``):
#:   ``id``, ``division``, ``holder``, ``bank_code``, ``bank_name``, ``account_no`` (masked),
#:   ``account_name``, ``supersedes`` (the previous account's id or null).
#: * ``funds.payment_file.made`` (subject: the file id): ``id``, ``msg_id``, ``division``,
#:   ``bank_code``, ``execution_date``, ``count``, ``total`` (yuan), ``special_account``.
#: * one event per step of an instruction's life (:data:`PAYMENT_TRANSITIONS`, subject: the
#:   instruction id): ``funds.payment.instructed`` (``id``, ``ref``, ``division``, ``file_id``,
#:   ``posting_id`` — the disbursement it pays —, ``payee``, ``project_code``, ``amount_fen``,
#:   ``account_id``, ``account_no``), ``funds.payment.paid`` / ``refused`` (``ref``, ``state``,
#:   ``reason_code``, ``reason``, ``returned_posting``: the ``payment_return`` posting of a refusal,
#:   whose ``reference`` is the refused disbursement's posting id), ``funds.payment.reissued``
#:   (``reissued_posting``: the new disbursement, ``account_id``, ``account_no``).
#: * ``funds.reconciliation.recorded`` (subject: the reconciliation id): ``division``, ``on``,
#:   ``account_no`` (masked), ``statement_digest``, ``ledger_debit``, ``bank_debit`` and
#:   ``differences`` [{kind, ref, ledger, bank, reason}].
BANK_ACCOUNT_REGISTERED = "funds.bank_account.registered"
PAYMENT_FILE_MADE = "funds.payment_file.made"
RECONCILIATION_RECORDED = "funds.reconciliation.recorded"
PAYMENT_EVENT_TYPES = frozenset(PAYMENT_TRANSITIONS.values())
BATCH_EVENT_TYPES = frozenset({DISBURSEMENT_BATCH_POSTED})
POSTING_EVENT_TYPES = frozenset(EVENT_TYPES.values()) | BATCH_EVENT_TYPES

#: A deadline's life (subject = the deadline id): ``set`` by a receipt (``data``: id, receiver,
#: kind, due, rule_id, citation, …); then ``met`` or ``missed`` (``data.met_on``, ``days_overdue``);
#: a missed one finally settled is ``settled_late`` (``data.met_on``, ``days_overdue`` = met_on − due)
#: and keeps the state ``missed``. An open one whose receipt is reversed (冲正) is ``withdrawn``
#: (``data``: ``reversed_posting_id``, ``reversal_posting_id``, ``reversal_seq``, ``document_no``,
#: ``reason``): never met or missed, not counted in the compliance figures.
#: A year-end close (结转结余; subject = "<division>:<role>:<fiscal_year>"): ``data`` = division, role,
#: fiscal_year, into_year, document_no, document_date, ``carried`` [{channel, kind, reference,
#: amount_fen, posting_id}], ``total_fen``. The money itself moves in ``funds.carry_forward.posted``
#: postings (one per account), appended just before it in the same transaction.
YEAR_CLOSED = "funds.year.closed"

DEADLINE_SET = "funds.deadline.set"
DEADLINE_TRANSITIONS: dict[str, str] = {"met": "funds.deadline.met", "missed": "funds.deadline.missed",
                                        "settled_late": "funds.deadline.settled_late",
                                        "withdrawn": "funds.deadline.withdrawn"}
DEADLINE_EVENT_TYPES = frozenset({DEADLINE_SET, *DEADLINE_TRANSITIONS.values()})

#: The columns of a row of ``funds.disbursement.batch_posted`` (version 1), in this order.
BATCH_FIELDS = ("posting_id", "line_ref", "project_code", "payee_kind", "payee_name", "household_id", "amount_fen",
                "purpose")
#: The most postings one ``funds.disbursement.batch_posted`` event carries (a producer's choice:
#: readers take whatever number an event has).
POSTINGS_PER_BATCH_EVENT = 200


def payee_reference(kind: str, name: str, household_id: str | None) -> str:
    """The reference of a payee's ``disbursed`` account: ``kind:household_id`` or ``kind:name``."""
    return f"{kind}:{household_id or name}"


def batch_event_data(*, batch_ref: str, part: int, parts: int, division: str, role: str, channel: str,
                     fiscal_year: int, document_no: str, document_date: str, actor: str,
                     rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``data`` of one ``funds.disbursement.batch_posted`` event (rows as in :data:`BATCH_FIELDS`)."""
    return {"v": 1, "batch_ref": batch_ref, "part": part, "parts": parts, "operation": "disburse",
            "division": division, "role": role, "channel": channel, "fiscal_year": fiscal_year,
            "document_no": document_no, "document_date": document_date, "actor": actor,
            "fields": list(BATCH_FIELDS), "postings": [list(row) for row in rows]}


def _batch_postings(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    if data.get("v") != 1:
        raise ValueError(f"unknown version {data.get('v')!r} of {DISBURSEMENT_BATCH_POSTED}")
    fields = data["fields"]
    division, role, on, batch_ref = data["division"], data["role"], data["document_date"], data["batch_ref"]
    channel, year = data["channel"], data["fiscal_year"]
    common = {"operation": data["operation"], "document_no": data["document_no"], "document_date": on,
              "actor": data["actor"], "on": on, "batch_ref": batch_ref}
    out = []
    for values in data["postings"]:
        row = dict(zip(fields, values))
        payee = {"kind": row["payee_kind"], "name": row["payee_name"], "household_id": row["household_id"]}
        payee_ref = payee_reference(payee["kind"], payee["name"], payee["household_id"])
        out.append({
            "posting_id": row["posting_id"],
            "from": {"division": division, "role": role, "channel": channel, "fiscal_year": year, "kind": "committed",
                     "reference": row["project_code"]},
            "to": {"division": division, "role": role, "channel": channel, "fiscal_year": year, "kind": "disbursed",
                   "reference": payee_ref},
            "amount_fen": row["amount_fen"], "purpose": row["purpose"], **common,
            "reference": payee_ref, "amount": format_fen(row["amount_fen"]), "payee": payee,
            "project_code": row["project_code"], "line_ref": row["line_ref"],
        })
    return out


def postings_of(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The postings an event of the funds service carries (none for its other events), each as
    the posting's data: ``from``/``to`` keys, ``amount_fen``, ``operation``, ``reference``, ``payee`` …
    (one for a single posting's event, many for a batch's)."""
    if event["type"] in BATCH_EVENT_TYPES:
        return _batch_postings(event["data"])
    if event["type"] in POSTING_EVENT_TYPES:
        return [_single_posting(event["data"])]
    return []


def is_line_reference(operation: Any, reference: Any, to_reference: Any) -> bool:
    """Whether a single posting's ``reference`` is a version-1 disbursement's line reference (see
    :func:`_single_posting`), given its operation, reference and ``to`` account's reference."""
    return operation == "disburse" and reference != to_reference


def _single_posting(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A version-1 disbursement's ``reference`` is its line reference (an extra that overwrote the
    posting's own, the payee); read back, the posting gets the payee again (its ``to`` account's
    reference, as ``Posting.from_dict`` requires) and the line reference moves to ``line_ref``."""
    operation = data.get("operation")
    if operation != "disburse" or not is_line_reference(operation, data.get("reference"), data["to"].get("reference")):
        return data  # (another operation's data is not looked into: it need not have a "to")
    return {**data, "reference": data["to"]["reference"], "line_ref": data["reference"]}
