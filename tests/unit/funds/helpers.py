"""Builders shared by the funds domain tests."""

from __future__ import annotations

import itertools
from datetime import date

from services.funds.domain import AccountKey, Posting

NATIONAL = "000000000000"
XINJIANG = "650000000000"  # 新疆维吾尔自治区
BOZHOU = "652700000000"  # 博尔塔拉蒙古自治州
JINGHE = "652722000000"  # 精河县
BOLE = "652701000000"  # 博乐市 (county level)
JINGHE_TOWN = "652722101000"  # a township of 精河县
SHANXI = "140000000000"
SHANXI_CITY = "142300000000"  # 吕梁市
YEAR = 2017

_ids = itertools.count(1)


def acct(division: str, kind: str, channel: str = "central_special", reference: str | None = None,
         role: str = "finance", year: int = YEAR) -> AccountKey:
    return AccountKey(division, role, channel, year, kind, reference)


def post(operation: str, from_: AccountKey, to: AccountKey, amount: int, *, doc: str = "财农〔2017〕1号",
         on: date = date(2017, 3, 1), purpose: str | None = None, reference: str | None = None,
         posting_id: str | None = None, actor: str = "tester") -> Posting:
    return Posting(
        posting_id=posting_id or f"p-{next(_ids)}",
        from_=from_,
        to=to,
        amount_fen=amount,
        operation=operation,
        document_no=doc,
        document_date=on,
        actor=actor,
        purpose=purpose,
        reference=reference,
    )
