"""The audit's own code lists (one definition each): the services a finding or discrepancy comes
from, and the kinds of discrepancy between a service's figures and the rebuild (``diff.py``).
``GET /catalogue`` lists them; the exports write their Chinese labels."""

from __future__ import annotations

from shared.vocabulary import Vocabulary

SOURCE = Vocabulary.of("source", "来源服务", "source service", [
    ("registry", "建档立卡", "household registry"), ("funds", "财政扶贫资金", "fiscal poverty funds"),
    ("projects", "扶贫项目库", "project library"), ("audit", "审计", "audit")])
DISCREPANCY_KIND = Vocabulary.of("discrepancy_kind", "差异类型", "discrepancy kind", [
    ("balance", "账户余额", "account balance"), ("deadline", "资金时限", "deadline"),
    ("statistic", "统计数", "statistic"), ("household_status", "户状态", "household status"),
    ("project", "项目", "project"),
    ("refused_posting", "被拒记账", "refused posting"), ("unreadable_posting", "无法读取的记账", "unreadable posting")])
