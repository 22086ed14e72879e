"""``GET /catalogue`` of the audit service (shared/web/catalogue.py): the rules a finding names
(every rule of the policy table, with its document), the services a finding or discrepancy
comes from, and the kinds of discrepancy between a service's figures and the rebuild."""

from __future__ import annotations

from services.funds.contract import ACCOUNT_KIND_VOCABULARY, CHANNEL_VOCABULARY
from shared.catalogue import CodeList, policy_rules
from shared.vocabulary import Vocabulary
from shared.web.catalogue import catalogue_router

SOURCE = Vocabulary.of("source", "来源服务", "source service", [
    ("registry", "建档立卡", "household registry"), ("funds", "财政扶贫资金", "fiscal poverty funds"),
    ("projects", "扶贫项目库", "project library"), ("audit", "审计", "audit")])
DISCREPANCY_KIND = Vocabulary.of("discrepancy_kind", "差异类型", "discrepancy kind", [
    ("balance", "账户余额", "account balance"), ("deadline", "资金时限", "deadline"),
    ("statistic", "统计数", "statistic"), ("household_status", "户状态", "household status"),
    ("refused_posting", "被拒记账", "refused posting"), ("unreadable_posting", "无法读取的记账", "unreadable posting")])

catalogue = catalogue_router(lambda request: [
    policy_rules(request.app.state.policy), CodeList(SOURCE, ("source", "service")),
    CodeList(DISCREPANCY_KIND, ("kind",)), CodeList(ACCOUNT_KIND_VOCABULARY, ("kind",)),
    CodeList(CHANNEL_VOCABULARY, ("channel",))])
