"""Bank files as a bank would send them, for tests: pain.002 status reports, camt.054 notifications
and camt.053 statements (each valid against its vendored XSD), and their CSV layouts."""

from __future__ import annotations

from datetime import date

from lxml import etree

from services.funds.domain.payments import CAMT053, CAMT054, PAIN002, RESULT_CSV, STATEMENT_CSV
from shared.csvfile import to_csv
from shared.money import format_fen


def _e(parent, tag, text=None, **attrib):
    element = etree.SubElement(parent, f"{{{parent.nsmap[None]}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _doc(ns):
    return etree.Element(f"{{{ns}}}Document", nsmap={None: ns})


def _bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def pain002(original_msg_id: str, lines: list[tuple[str, str, str | None]], msg_id: str = "PSR-1") -> bytes:
    """A status report: (instruction ref, TxSts, reason code or None) per line."""
    root = _doc(PAIN002)
    report = _e(root, "CstmrPmtStsRpt")
    header = _e(report, "GrpHdr")
    _e(header, "MsgId", msg_id)
    _e(header, "CreDtTm", "2017-06-23T09:00:00")
    original = _e(report, "OrgnlGrpInfAndSts")
    _e(original, "OrgnlMsgId", original_msg_id)
    _e(original, "OrgnlMsgNmId", "pain.001.001.03")
    block = _e(report, "OrgnlPmtInfAndSts")
    _e(block, "OrgnlPmtInfId", original_msg_id)
    for ref, status, reason in lines:
        tx = _e(block, "TxInfAndSts")
        _e(tx, "OrgnlEndToEndId", ref)
        _e(tx, "TxSts", status)
        if reason:
            info = _e(tx, "StsRsnInf")
            _e(_e(info, "Rsn"), "Cd", reason)
            _e(info, "AddtlInf", "账户已销户" if reason == "AC04" else "户名不符")
    return _bytes(root)


def _entry(parent, ref, amount_fen, direction, on, *, returned=None):
    entry = _e(parent, "Ntry")
    _e(entry, "Amt", format_fen(amount_fen), Ccy="CNY")
    _e(entry, "CdtDbtInd", direction)
    _e(_e(entry, "Sts"), "Cd", "BOOK")
    _e(_e(entry, "BookgDt"), "Dt", on.isoformat())
    _e(entry, "BkTxCd")
    if ref is not None:
        tx = _e(_e(entry, "NtryDtls"), "TxDtls")
        _e(_e(tx, "Refs"), "EndToEndId", ref)
        if returned:
            _e(_e(_e(tx, "RtrInf"), "Rsn"), "Cd", returned)


def camt054(account_no: str, lines: list[tuple[str, int, str | None]], on: date) -> bytes:
    """Debit notifications: (ref, amount, return reason or None) per line."""
    root = _doc(CAMT054)
    message = _e(root, "BkToCstmrDbtCdtNtfctn")
    header = _e(message, "GrpHdr")
    _e(header, "MsgId", "NTF-1")
    _e(header, "CreDtTm", f"{on.isoformat()}T18:00:00")
    notification = _e(message, "Ntfctn")
    _e(notification, "Id", "NTF-1-1")
    _e(_e(_e(_e(notification, "Acct"), "Id"), "Othr"), "Id", account_no)
    for ref, amount, returned in lines:
        _entry(notification, ref, amount, "DBIT", on, returned=returned)
    return _bytes(root)


def camt053(account_no: str, entries: list[tuple[str | None, int, str]], on: date, closing_fen: int = 0) -> bytes:
    """A day's statement: (ref or None, amount, DBIT|CRDT) per entry."""
    root = _doc(CAMT053)
    message = _e(root, "BkToCstmrStmt")
    header = _e(message, "GrpHdr")
    _e(header, "MsgId", f"STMT-{on.isoformat()}")
    _e(header, "CreDtTm", f"{on.isoformat()}T23:00:00")
    statement = _e(message, "Stmt")
    _e(statement, "Id", f"STMT-{on.isoformat()}-1")
    _e(_e(_e(_e(statement, "Acct"), "Id"), "Othr"), "Id", account_no)
    balance = _e(statement, "Bal")
    _e(_e(_e(balance, "Tp"), "CdOrPrtry"), "Cd", "CLBD")
    _e(balance, "Amt", format_fen(abs(closing_fen)), Ccy="CNY")
    _e(balance, "CdtDbtInd", "CRDT" if closing_fen >= 0 else "DBIT")
    _e(_e(balance, "Dt"), "Dt", on.isoformat())
    for ref, amount, direction in entries:
        _entry(statement, ref, amount, direction, on)
    return _bytes(root)


def results_csv(lines: list[tuple[str, str, str, str]]) -> bytes:
    return to_csv(RESULT_CSV, lines).encode()


def statement_csv(account_no: str, entries: list[tuple[str, str, str, int]]) -> bytes:
    """(date, ref, 借|贷, amount fen) per entry."""
    return to_csv(STATEMENT_CSV, [(on, ref, d, format_fen(fen), account_no) for on, ref, d, fen in entries]).encode()
