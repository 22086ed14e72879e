"""The pure side of money leaving the system: pain.001 files valid against the official XSD, bank
results and statements parsed strictly, the instruction's state table, reconciliation."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from services.funds.domain.payments import (
    PAIN001,
    TRANSITIONS,
    BankAccount,
    BankFileError,
    Instruction,
    PaymentFile,
    ResultLine,
    StatementEntry,
    TransitionRefused,
    _schema,
    judge_results,
    mask_account,
    parse_results,
    parse_statement,
    reconcile,
    render_csv,
    render_pain001,
    transition,
)
from tests.bank_files import camt053, camt054, pain002, results_csv, statement_csv

SPECIAL = BankAccount("102100099996", "中国工商银行精河县支行", "6222020200112233445", "精河县财政局扶贫资金专户")
WANG = BankAccount("402100000018", "新疆农村信用社精河县联社", "6228480012345678901", "王某")
LI = BankAccount("402100000018", "新疆农村信用社精河县联社", "6228480012345670000", "李某")


def _file(*instructions: Instruction) -> PaymentFile:
    return PaymentFile("PF-20170622-1", datetime(2017, 6, 21, 10, 30), date(2017, 6, 22), "精河县财政局", SPECIAL,
                       list(instructions))


def test_pain001_is_valid_against_the_official_xsd_and_carries_every_line():
    f = _file(Instruction("a" * 32, 300000, WANG, "P-1 L-1"), Instruction("b" * 32, 12345, LI, "P-1 L-2"))
    xml = render_pain001(f)
    root = etree.fromstring(xml)
    assert _schema(PAIN001).validate(root)
    ns = {"p": PAIN001}
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "3123.45"
    assert [e.text for e in root.iterfind(".//p:EndToEndId", ns)] == ["a" * 32, "b" * 32]
    assert root.findtext(".//p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=ns) == "102100099996"
    header, rows = render_csv(f)
    assert header[0] == "指令编号" and rows[1][5] == LI.account_no and rows[1][7] == "123.45"


def test_state_table_allows_only_its_steps():
    assert transition(None, "instructed") == "funds.payment.instructed"
    assert transition("refused", "reissued") == "funds.payment.reissued"
    for bad in (("paid", "refused"), ("instructed", "reissued"), ("reissued", "paid")):
        assert bad not in TRANSITIONS
        with pytest.raises(TransitionRefused):
            transition(*bad)


def test_mask_account_shows_four_digits_only():
    assert mask_account("6228480012345678901") == "****8901"


def test_pain002_results_with_reasons():
    lines = parse_results(pain002("PF-1", [("a1", "ACSC", None), ("b2", "RJCT", "AC04"), ("c3", "PDNG", None)]), "pain.002")
    assert [(line.ref, line.status, line.reason_code) for line in lines] == [("a1", "paid", None), ("b2", "refused", "AC04"),
                                                                   ("c3", None, None)]
    assert lines[1].reason == "账户已销户"


def test_camt054_return_refuses_and_booked_debit_pays():
    lines = parse_results(camt054("6222020200112233445", [("a1", 100, None), ("b2", 200, "AC01")], date(2017, 6, 22)),
                          "camt.054")
    assert [(line.ref, line.status, line.reason_code) for line in lines] == [("a1", "paid", None), ("b2", "refused", "AC01")]


def test_csv_results_and_unknown_status():
    lines = parse_results(results_csv([("a1", "成功", "", ""), ("b2", "失败", "BE01", "户名不符")]), "csv")
    assert [(line.status, line.reason) for line in lines] == [("paid", None), ("refused", "户名不符")]
    with pytest.raises(BankFileError) as caught:
        parse_results(results_csv([("a1", "maybe", "", "")]), "csv")
    assert caught.value.extensions["errors"][0]["field"] == "line 1"


@pytest.mark.parametrize("raw, reason", [
    (b"<Document", "not well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
     b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11">&e;</Document>', ""),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11"><Nonsense/></Document>', ""),
    (b'<Document xmlns="urn:example"/>', "namespace"),
])
def test_bad_xml_is_a_problem_naming_the_file(raw, reason):
    with pytest.raises(BankFileError) as caught:
        parse_results(raw, "pain.002")
    assert caught.value.status == 422
    assert caught.value.extensions["errors"][0]["field"].startswith("file")
    assert reason in caught.value.extensions["errors"][0]["reason"]


def test_judge_names_unknown_and_duplicate_lines():
    states = {"a1": "instructed", "b2": "instructed", "c3": "paid"}
    lines = [ResultLine(1, "a1", "paid"), ResultLine(2, "zz", "paid"), ResultLine(3, "a1", "paid"),
             ResultLine(4, "c3", "paid"), ResultLine(5, "b2", "refused", "AC04", "closed")]
    outcome = judge_results(lines, states)
    assert [(line.ref, s) for line, s in outcome.apply] == [("a1", "paid"), ("b2", "refused")]
    assert [(p["line"], p["code"]) for p in outcome.problems] == [(2, "unknown"), (3, "duplicate"), (4, "duplicate")]


def test_statements_and_reconciliation_list_every_difference():
    on = date(2017, 6, 22)
    xml = parse_statement(camt053(SPECIAL.account_no, [("a1", 300000, "DBIT"), ("b2", 500, "DBIT"), ("b2", 500, "CRDT"),
                                                       ("x9", 700, "DBIT"), (None, 15, "DBIT")], on), "camt.053")
    assert xml.account_no == SPECIAL.account_no and xml.entries[0] == StatementEntry(1, "a1", 300000, on)
    expected = {"a1": 300000, "b2": 0, "c3": 100}
    found = {(d.kind, d.ref) for d in reconcile(expected, xml.entries)}
    assert found == {("missing_in_statement", "c3"), ("missing_in_ledger", "x9"), ("unreferenced", None)}
    csv = parse_statement(statement_csv(SPECIAL.account_no, [("2017-06-22", "a1", "借", 299900)]), "csv")
    [difference] = reconcile({"a1": 300000}, csv.entries)
    assert (difference.kind, difference.ledger_fen, difference.bank_fen) == ("amount_differs", 300000, 299900)


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          + b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">' % ((n,) + (n - 1,) * 10)
                     for n in range(ord("c"), ord("k")))
          + b']><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11">&j;</Document>')


@pytest.mark.parametrize("raw", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11">&x;</Document>',
    b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11"/>',
    LAUGHS,
])
def test_entities_external_dtds_and_billion_laughs_are_refused_unread(raw):
    with pytest.raises(BankFileError) as caught:
        parse_results(raw, "pain.002")
    assert caught.value.status == 422 and "root:" not in str(caught.value.extensions)


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "sNaN", "NaN", "1E+100000", "-1.00", "1.001", "1e400"])
def test_a_statement_amount_that_is_no_money_is_a_problem_naming_the_line(amount):
    raw = ("\ufeff记账日期,指令编号,借贷,金额(元),账号\r\n2017-06-22,,借," + amount + ",6222020200112233445\r\n").encode()
    with pytest.raises(BankFileError) as caught:
        parse_statement(raw, "csv")
    assert caught.value.extensions["errors"][0]["field"] == "line 1"
