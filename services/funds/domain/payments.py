"""Money that leaves the system (issue 15): payees' bank accounts, payment instructions in payment
files, the bank's results and the reconciliation of a 专户 (special account) with its statement.
Pure: bytes in, values out; no database, HTTP or Kafka.

Guarantees:

1. **An account number is shown masked, always** (:func:`mask_account`: the last four digits,
   ``****1234``). The only documents holding it in full are the payment files themselves
   (:func:`render_pain001`, :func:`render_csv`), which go to the bank; events carry the masked
   form and the account record's id, never the number.
2. **Every payment file is valid ISO 20022** ``pain.001.001.03`` before it leaves
   (:func:`render_pain001` validates against the official XSD vendored in ``iso20022/``; a file
   that does not validate is a bug, raised, never served). Version .03 (2009) rather than .09:
   it is the version of the customer credit transfer that banks' host-to-host and cash-management
   channels still accept universally (the SEPA and CBPR+ migrations to .09 concern euro and
   cross-border payments, not a county's domestic CNY payments), and its debtor/creditor agents
   take a domestic clearing-system member id (``ClrSysMmbId``: CNAPS 行号) just as .09 does.
3. **Bank files in are parsed strictly**: XML without DTDs, entities or network access, validated
   against the message's XSD (pain.002.001.11, camt.054.001.08, camt.053.001.08), or a CSV with
   the headers of :data:`RESULT_CSV` / :data:`STATEMENT_CSV`; anything else is a
   :class:`BankFileError` naming where and why (a 4xx, never a 500).
4. **An instruction's life is a table** (:data:`TRANSITIONS`): instructed → paid | refused →
   reissued; :func:`transition` refuses any other step.
5. **Reconciliation lists every difference** (:func:`reconcile`): per instruction id, the net
   debit the ledger expects against the net debit on the statement; an entry without an id of
   ours, an id of ours missing from the statement, and differing amounts are each one row.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

from services.registry.contract import ON_ROLL, STATUS_LABELS
from shared import divisions
from shared.errors import Unprocessable
from shared.money import MAX_FEN, format_fen

SCHEMAS = Path(__file__).with_name("iso20022")
PAIN001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.11"
CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_XSD = {PAIN001: "pain.001.001.03.xsd", PAIN002: "pain.002.001.11.xsd", CAMT054: "camt.054.001.08.xsd",
        CAMT053: "camt.053.001.08.xsd"}
#: The clearing system of a bank code (ISO external code list: China National Advanced Payment System).
CLEARING_SYSTEM = "CNAPS"
CURRENCY = "CNY"


# -- instruction states ------------------------------------------------------------------------

#: (from state, to state) → the event type recording the step. ``None``: the instruction is made.
TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "instructed"): "funds.payment.instructed",
    ("instructed", "paid"): "funds.payment.paid",
    ("instructed", "refused"): "funds.payment.refused",
    ("refused", "reissued"): "funds.payment.reissued",
}
STATES = ("instructed", "paid", "refused", "reissued")
STATE_LABELS = {"instructed": "已发送指令", "paid": "已支付", "refused": "银行退票", "reissued": "已重新支付"}


class TransitionRefused(Unprocessable):
    slug = "payment-state"


def transition(state: str | None, to: str) -> str:
    """The event type of the step from ``state`` to ``to``; raises if the table has no such step."""
    event = TRANSITIONS.get((state, to))
    if event is None:
        raise TransitionRefused(
            f"支付指令状态为“{STATE_LABELS.get(state or '', state)}”，不能变为“{STATE_LABELS.get(to, to)}” "
            f"(an instruction that is {state} cannot become {to})",
            errors=[{"field": "state", "reason": f"{state} → {to} is not a step of the instruction's life"}])
    return event


# -- payees ------------------------------------------------------------------------------------------

#: Households a county may pay: registered (建档立卡) — on the roll, or exited (脱贫不脱政策, seed 003
#: L481) — never proposed-only, rejected or removed ones.
PAYABLE_STATUSES = frozenset(ON_ROLL | {"exited"})


def payee_refusal(household_id: str | None, household: tuple[str, str] | None, county: str) -> tuple[str, str] | None:
    """Why a household payee (``household``: its (division, status) in the read model, or None)
    may not be paid by ``county``: (code, reason), or None when it may."""
    if not household_id:
        return "household_id_missing", "农户收款人须注明建档立卡户编号 (a household payee needs its household_id)"
    if household is None:
        return "unknown_household", f"建档立卡名单中无此户{household_id} (the registry has no household {household_id})"
    division, status = household
    label = STATUS_LABELS.get(status, status)
    if status in ("removed", "rejected"):
        return "household_removed", f"该户{label}，不能支付 (the household is {status})"
    if status not in PAYABLE_STATUSES:
        return "household_not_registered", f"该户尚未建档立卡，当前为“{label}” (not registered: {status})"
    if not divisions.within(division, county):
        return "household_outside_county", f"该户({division})不在本县{county} (the household is outside the paying county)"
    return None


# -- accounts --------------------------------------------------------------------------------------

def mask_account(number: str) -> str:
    """``****`` and the last four characters (guarantee 1)."""
    return "****" + number[-4:]


def instruction_ref(instruction_id: str) -> str:
    """The id an instruction carries to the bank and back (``EndToEndId``, Max35Text): its UUID's hex."""
    return instruction_id.replace("-", "")


@dataclass(frozen=True)
class BankAccount:
    bank_code: str  # 12-digit CNAPS 行号
    bank_name: str
    account_no: str
    account_name: str


@dataclass(frozen=True)
class Instruction:
    ref: str  # instruction_ref
    amount_fen: int
    creditor: BankAccount
    remittance: str  # what the payee reads: project and line


@dataclass(frozen=True)
class PaymentFile:
    msg_id: str
    created_at: datetime
    execution_date: date
    initiator: str  # the county finance bureau's name
    debtor: BankAccount  # the county's 专户
    instructions: Sequence[Instruction]

    @property
    def total_fen(self) -> int:
        return sum(i.amount_fen for i in self.instructions)


# -- XML -----------------------------------------------------------------------------------------

class BankFileError(Unprocessable):
    """A bank file (or one we would send) that is not what its format says."""

    slug = "bank-file"


@cache
def _schema(namespace: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / _XSD[namespace])))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{parent.nsmap[None]}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _agent(parent: etree._Element, tag: str, account: BankAccount) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    member = _sub(institution, "ClrSysMmbId")
    _sub(_sub(member, "ClrSysId"), "Cd", CLEARING_SYSTEM)
    _sub(member, "MmbId", account.bank_code)
    _sub(institution, "Nm", account.bank_name[:140])


def _account(parent: etree._Element, tag: str, account: BankAccount) -> None:
    _sub(_sub(_sub(_sub(parent, tag), "Id"), "Othr"), "Id", account.account_no)


def render_pain001(payment_file: PaymentFile) -> bytes:
    """The file as ISO 20022 ``pain.001.001.03``, validated against the XSD (guarantee 2): one
    payment information block (debtor = the 专户, requested execution date), one credit transfer
    per instruction (``EndToEndId`` = the instruction's ref, amount in CNY)."""
    f = payment_file
    root = etree.Element(f"{{{PAIN001}}}Document", nsmap={None: PAIN001})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", f.msg_id)
    _sub(header, "CreDtTm", f.created_at.replace(tzinfo=None, microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(len(f.instructions)))
    _sub(header, "CtrlSum", format_fen(f.total_fen))
    _sub(_sub(header, "InitgPty"), "Nm", f.initiator[:140])
    block = _sub(initiation, "PmtInf")
    _sub(block, "PmtInfId", f.msg_id)
    _sub(block, "PmtMtd", "TRF")
    _sub(block, "NbOfTxs", str(len(f.instructions)))
    _sub(block, "CtrlSum", format_fen(f.total_fen))
    _sub(block, "ReqdExctnDt", f.execution_date.isoformat())
    _sub(_sub(block, "Dbtr"), "Nm", f.debtor.account_name[:140])
    _account(block, "DbtrAcct", f.debtor)
    _agent(block, "DbtrAgt", f.debtor)
    _sub(block, "ChrgBr", "SLEV")
    for instruction in f.instructions:
        transfer = _sub(block, "CdtTrfTxInf")
        ids = _sub(transfer, "PmtId")
        _sub(ids, "InstrId", instruction.ref)
        _sub(ids, "EndToEndId", instruction.ref)
        _sub(_sub(transfer, "Amt"), "InstdAmt", format_fen(instruction.amount_fen), Ccy=CURRENCY)
        _agent(transfer, "CdtrAgt", instruction.creditor)
        _sub(_sub(transfer, "Cdtr"), "Nm", instruction.creditor.account_name[:140])
        _account(transfer, "CdtrAcct", instruction.creditor)
        _sub(_sub(transfer, "RmtInf"), "Ustrd", instruction.remittance[:140])
    schema = _schema(PAIN001)
    if not schema.validate(root):  # pragma: no cover - a bug of this function, never a user's error
        raise RuntimeError(f"pain.001 not valid against its XSD: {schema.error_log.last_error}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


#: The spreadsheet layout of a payment file (banks that take CSV): one row per instruction.
PAYMENT_CSV = ("指令编号", "付款账号", "付款户名", "收款行行号", "收款行名称", "收款账号", "收款户名", "金额(元)",
               "币种", "要求执行日期", "附言")


def render_csv(payment_file: PaymentFile) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The header and rows of the CSV layout (:data:`PAYMENT_CSV`)."""
    f = payment_file
    return PAYMENT_CSV, [(i.ref, f.debtor.account_no, f.debtor.account_name, i.creditor.bank_code,
                          i.creditor.bank_name, i.creditor.account_no, i.creditor.account_name,
                          format_fen(i.amount_fen), CURRENCY, f.execution_date.isoformat(), i.remittance)
                         for i in f.instructions]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True)


def _xml(raw: bytes, expected: Sequence[str]) -> tuple[str, etree._Element]:
    """The document parsed safely and validated against its XSD (guarantee 3)."""
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as error:
        raise BankFileError(f"文件不是格式正确的XML (not well-formed XML: {error})",
                            errors=[{"field": "file", "reason": f"not well-formed XML: {error}"}]) from None
    if root.getroottree().docinfo.doctype:
        raise BankFileError("文件不得含DTD (a DTD is not accepted)", errors=[{"field": "file", "reason": "DTD"}])
    namespace = etree.QName(root).namespace or ""
    if namespace not in expected or etree.QName(root).localname != "Document":
        raise BankFileError(
            f"不是所接受的报文 (expected a Document of {', '.join(expected)}, got {namespace or 'no namespace'})",
            errors=[{"field": "file", "reason": f"namespace {namespace or '(none)'} not one of {', '.join(expected)}"}])
    schema = _schema(namespace)
    if not schema.validate(root):
        problems = [{"field": f"file:{e.line}", "reason": e.message} for e in list(schema.error_log)[:20]]
        raise BankFileError(f"报文不符合{namespace.rsplit(':', 1)[-1]}的XSD (not valid against its schema)",
                            errors=problems)
    return namespace, root


def _text(element: etree._Element, path: str, ns: str) -> str | None:
    found = element.find("/".join(f"{{{ns}}}{part}" for part in path.split("/")))
    return None if found is None or found.text is None else found.text.strip()


def _fen(text: str | None, where: str) -> int:
    try:  # quantize signals on Infinity, sNaN and huge exponents: they are invalid amounts too
        value = Decimal(text or "")
        if not value.is_finite() or value != value.quantize(Decimal("0.01")) or value < 0 or value * 100 > MAX_FEN:
            raise InvalidOperation
    except InvalidOperation:
        raise BankFileError(f"金额无效 (invalid amount at {where})",
                            errors=[{"field": where, "reason": "invalid amount"}]) from None
    return int(value * 100)


def digest(raw: bytes) -> str:
    """A file's identity: SHA-256 of its bytes (imports are idempotent by it)."""
    return hashlib.sha256(raw).hexdigest()


# -- bank results ----------------------------------------------------------------------------------

#: A result line's status: paid or refused (anything the bank has not settled yet is left pending).
PAID, REFUSED = "paid", "refused"
#: pain.002 transaction statuses (ISO ExternalPaymentTransactionStatus1Code) that settle a line.
PAIN002_STATUS = {"ACSC": PAID, "ACCC": PAID, "ACSP": None, "ACTC": None, "ACCP": None, "PDNG": None, "RJCT": REFUSED}


@dataclass(frozen=True)
class ResultLine:
    position: int  # 1-based, in the file
    ref: str  # the instruction's ref (EndToEndId)
    status: str | None  # paid | refused | None (pending)
    reason_code: str | None = None
    reason: str | None = None


def _pain002(root: etree._Element) -> list[ResultLine]:
    ns, lines = PAIN002, []
    for position, tx in enumerate(root.iter(f"{{{ns}}}TxInfAndSts"), start=1):
        ref = _text(tx, "OrgnlEndToEndId", ns) or ""
        status = _text(tx, "TxSts", ns) or ""
        reason = tx.find(f"{{{ns}}}StsRsnInf")
        code = _text(reason, "Rsn/Cd", ns) or _text(reason, "Rsn/Prtry", ns) if reason is not None else None
        info = " ".join(e.text or "" for e in reason.iter(f"{{{ns}}}AddtlInf")).strip() if reason is not None else ""
        lines.append(ResultLine(position, ref, PAIN002_STATUS.get(status), code, info or code))
    return lines


def _camt054(root: etree._Element) -> list[ResultLine]:
    """Debit notifications: a booked debit pays the line; a return (``RtrInf``) refuses it."""
    ns, lines = CAMT054, []
    position = 0
    for entry in root.iter(f"{{{ns}}}Ntry"):
        booked = _text(entry, "Sts/Cd", ns) == "BOOK"
        for tx in entry.iter(f"{{{ns}}}TxDtls"):
            position += 1
            ref = _text(tx, "Refs/EndToEndId", ns) or ""
            returned = tx.find(f"{{{ns}}}RtrInf")
            if returned is not None:
                code = _text(returned, "Rsn/Cd", ns) or _text(returned, "Rsn/Prtry", ns)
                info = " ".join(e.text or "" for e in returned.iter(f"{{{ns}}}AddtlInf")).strip()
                lines.append(ResultLine(position, ref, REFUSED, code, info or code))
            else:
                lines.append(ResultLine(position, ref, PAID if booked else None))
    return lines


#: The CSV layout of bank results: 指令编号, 状态 (成功/失败 or paid/refused), 原因代码, 原因.
RESULT_CSV = ("指令编号", "状态", "原因代码", "原因")
_CSV_STATUS = {"成功": PAID, "paid": PAID, "失败": REFUSED, "退票": REFUSED, "refused": REFUSED}


def _csv_rows(raw: bytes, header: Sequence[str]) -> list[dict[str, str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BankFileError("CSV须为UTF-8编码 (the CSV must be UTF-8)",
                            errors=[{"field": "file", "reason": "not UTF-8"}]) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [h for h in header if h not in (reader.fieldnames or [])]
    if missing:
        raise BankFileError(f"CSV缺少列：{'、'.join(missing)} (columns missing)",
                            errors=[{"field": "file", "reason": f"missing column {h}"} for h in missing])
    return [{k: (v or "").strip() for k, v in row.items() if k in header} for row in reader]


def _result_csv(raw: bytes) -> list[ResultLine]:
    lines = []
    for position, row in enumerate(_csv_rows(raw, RESULT_CSV), start=1):
        if row["状态"] not in _CSV_STATUS:
            raise BankFileError(f"第{position}行状态无效：{row['状态']!r} (line {position}: unknown status)",
                                errors=[{"field": f"line {position}",
                                         "reason": f"status must be one of {', '.join(_CSV_STATUS)}"}])
        lines.append(ResultLine(position, row["指令编号"], _CSV_STATUS[row["状态"]], row["原因代码"] or None,
                                row["原因"] or row["原因代码"] or None))
    return lines


#: The formats of a bank's result file (code list ``bank_result_format``): (Chinese, English).
RESULT_FORMAT_LABELS = {
    "pain.002": ("ISO 20022 支付状态报告 (pain.002)", "ISO 20022 payment status report (pain.002)"),
    "camt.054": ("ISO 20022 借贷记通知 (camt.054)", "ISO 20022 debit/credit notification (camt.054)"),
    "csv": ("CSV结果文件", "CSV result file"),
}
RESULT_FORMATS = tuple(RESULT_FORMAT_LABELS)
#: The problems a line of a result file is named with (code list ``bank_result_problem``): (Chinese, English).
RESULT_PROBLEM_LABELS = {
    "unknown": ("无此支付指令", "no such instruction of the county"),
    "duplicate": ("重复(同一文件中重复或指令已有结果)", "duplicate: twice in the file, or the instruction already settled"),
}


def parse_results(raw: bytes, fmt: str) -> list[ResultLine]:
    """The lines of a bank's result file (pain.002.001.11, camt.054.001.08 or the CSV layout)."""
    if fmt == "csv":
        return _result_csv(raw)
    namespace, root = _xml(raw, [PAIN002] if fmt == "pain.002" else [CAMT054])
    return _pain002(root) if namespace == PAIN002 else _camt054(root)


@dataclass(frozen=True)
class ResultOutcome:
    """What a result file does: the lines to apply, and those named as problems."""

    apply: list[tuple[ResultLine, str]]  # (line, the instruction's new state)
    problems: list[dict[str, object]]  # {line, ref, code, reason}
    pending: list[ResultLine]


def judge_results(lines: Iterable[ResultLine], states: Mapping[str, str]) -> ResultOutcome:
    """Each line against the instructions' current states (``states``: ref → state of the
    instructions of the caller's county): an unknown ref, a ref twice in the file, and a line
    for an instruction no longer ``instructed`` (a duplicate of an earlier file's line) are named
    as problems; the rest move their instruction to paid or refused."""
    apply, problems, pending, seen = [], [], [], set()
    for line in lines:
        where = {"line": line.position, "ref": line.ref}
        if line.ref not in states:
            problems.append({**where, "code": "unknown", "reason": "无此支付指令 (no such instruction of this county)"})
        elif line.ref in seen:
            problems.append({**where, "code": "duplicate",
                             "reason": "同一文件中重复 (this instruction appears twice in the file)"})
        elif line.status is None:
            pending.append(line)
        elif states[line.ref] != "instructed":
            problems.append({**where, "code": "duplicate",
                             "reason": f"该指令已是“{STATE_LABELS[states[line.ref]]}” (already {states[line.ref]})"})
        else:
            apply.append((line, line.status))
        seen.add(line.ref)
    return ResultOutcome(apply, problems, pending)


# -- statements and reconciliation ----------------------------------------------------------------

@dataclass(frozen=True)
class StatementEntry:
    position: int
    ref: str | None  # EndToEndId, when the bank gives one
    debit_fen: int  # positive: money out of the 专户; negative: money back in
    booked_on: date | None


@dataclass(frozen=True)
class Statement:
    account_no: str
    entries: list[StatementEntry]


def _camt053(root: etree._Element) -> Statement:
    ns = CAMT053
    statement = root.find(f"{{{ns}}}BkToCstmrStmt/{{{ns}}}Stmt")
    account = _text(statement, "Acct/Id/Othr/Id", ns) or _text(statement, "Acct/Id/IBAN", ns) or ""
    entries, position = [], 0
    for entry in statement.iter(f"{{{ns}}}Ntry"):
        position += 1
        sign = 1 if _text(entry, "CdtDbtInd", ns) == "DBIT" else -1
        if _text(entry, "RvslInd", ns) == "true":
            sign = -sign
        booked = _text(entry, "BookgDt/Dt", ns)
        amount = _fen(_text(entry, "Amt", ns), f"entry {position}")
        refs = [e.text.strip() for e in entry.iter(f"{{{ns}}}EndToEndId") if e.text]
        entries.append(StatementEntry(position, refs[0] if refs else None, sign * amount,
                                      date.fromisoformat(booked) if booked else None))
    return Statement(account, entries)


#: The CSV layout of a bank statement: 记账日期, 指令编号 (may be empty), 借贷 (借/贷), 金额(元), 账号.
STATEMENT_CSV = ("记账日期", "指令编号", "借贷", "金额(元)", "账号")


def _statement_csv(raw: bytes) -> Statement:
    rows, entries, accounts = _csv_rows(raw, STATEMENT_CSV), [], set()
    for position, row in enumerate(rows, start=1):
        if row["借贷"] not in ("借", "贷"):
            raise BankFileError(f"第{position}行借贷标志无效 (line {position}: 借贷 must be 借 or 贷)",
                                errors=[{"field": f"line {position}", "reason": "借贷 must be 借 or 贷"}])
        try:
            booked = date.fromisoformat(row["记账日期"])
        except ValueError:
            raise BankFileError(f"第{position}行日期无效 (line {position}: invalid date)",
                                errors=[{"field": f"line {position}", "reason": "记账日期 must be YYYY-MM-DD"}]) from None
        amount = _fen(row["金额(元)"], f"line {position}")
        entries.append(StatementEntry(position, row["指令编号"] or None, amount if row["借贷"] == "借" else -amount, booked))
        accounts.add(row["账号"])
    if len(accounts) > 1:
        raise BankFileError("对账单须为同一账户 (a statement is of one account)",
                            errors=[{"field": "账号", "reason": "more than one account in the statement"}])
    return Statement(next(iter(accounts), ""), entries)


STATEMENT_FORMATS = ("camt.053", "csv")


def parse_statement(raw: bytes, fmt: str) -> Statement:
    if fmt == "csv":
        return _statement_csv(raw)
    return _camt053(_xml(raw, [CAMT053])[1])


#: The kinds of a reconciliation difference: (Chinese, English).
DIFFERENCE_LABELS = {
    "missing_in_statement": ("账面已付、对账单无", "paid in the ledger, not on the statement"),
    "missing_in_ledger": ("对账单有、账面无", "on the statement, not in the ledger"),
    "amount_differs": ("金额不符", "amounts differ"),
    "unreferenced": ("对账单无指令编号", "statement entry without an instruction id"),
}


@dataclass(frozen=True)
class Difference:
    kind: str  # a code of DIFFERENCE_LABELS
    ref: str | None
    ledger_fen: int
    bank_fen: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "ref": self.ref, "ledger": format_fen(self.ledger_fen),
                "bank": format_fen(self.bank_fen), "reason": self.reason}


def expected_debit(state: str, amount_fen: int) -> int:
    """What the 专户 pays out for an instruction in ``state``: its amount unless the bank refused it."""
    return 0 if state in ("refused", "reissued") else amount_fen


def reconcile(expected: Mapping[str, int], entries: Iterable[StatementEntry]) -> list[Difference]:
    """Every difference between the ledger's expected net debits per instruction ref (``expected``)
    and the statement's entries (guarantee 5), in ref order, then unreferenced entries in order."""
    bank: dict[str, int] = {}
    unreferenced = []
    for entry in entries:
        if entry.ref is None:
            unreferenced.append(entry)
        else:
            bank[entry.ref] = bank.get(entry.ref, 0) + entry.debit_fen
    out = []
    for ref in sorted(set(expected) | set(bank)):
        ledger, paid = expected.get(ref, 0), bank.get(ref, 0)
        if ref not in bank and ledger:
            out.append(Difference("missing_in_statement", ref, ledger, 0, "账面已付，银行对账单无此笔 (not on the statement)"))
        elif ref not in expected:
            out.append(Difference("missing_in_ledger", ref, 0, paid, "银行对账单有此笔，账面无对应指令 (not in the ledger)"))
        elif ledger != paid:
            out.append(Difference("amount_differs", ref, ledger, paid,
                                  f"金额不符：账面{format_fen(ledger)}元，银行{format_fen(paid)}元 (amounts differ)"))
    out += [Difference("unreferenced", None, 0, e.debit_fen,
                       f"第{e.position}笔无指令编号 (entry {e.position} has no instruction id)")
            for e in unreferenced]
    return out
