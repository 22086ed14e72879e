"""The audit's own code lists (one definition each): the services a finding or discrepancy comes
from, the kinds of discrepancy between a service's figures and the rebuild (``diff.py``), the
kinds of problem the log verification names (``verify.py``, ``checkpoints.py``) and the
components of a division's performance score (``domain/scoring.py``).
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
    ("refused_posting", "被拒记账", "refused posting"), ("unreadable_posting", "无法读取的记账", "unreadable posting"),
    ("unreadable_event", "无法读取的事件", "an event whose data cannot be read"),
    ("refused_household", "统计不予接受的户", "a household whose facts the registry's statistics refuse")])
CHAIN_PROBLEM_KIND = Vocabulary.of("chain_problem_kind", "日志校验问题", "log verification problem", [
    ("gap", "事件缺失(序号不连续)", "gap: events missing"),
    ("order", "事件重复或乱序", "a duplicate or out-of-order event"),
    ("link", "前序哈希不衔接", "prev_hash does not link to the event before"),
    ("hash", "哈希与内容不符(被改动)", "hash does not match the content (altered)"),
    ("manifest", "与导出清单不符", "does not match the export's manifest"),
    ("causation", "引用的事件不存在", "causation_id names no existing event"),
    ("malformed", "不是事件(格式错误)", "not an event: not JSON, or its envelope missing or malformed"),
    ("checkpoint", "检查点无法验证", "a checkpoint does not verify"),
    ("fork", "日志分叉", "fork: two logs for one checkpoint"),
    ("rewritten", "已签检查点后被改写", "rewritten after a co-signed checkpoint"),
    ("truncated", "已签检查点后被截短", "truncated after a co-signed checkpoint")])
SCORE_COMPONENT = Vocabulary.of("score_component", "绩效考评分项", "performance score component", [
    ("deadlines_met", "资金按期拨付", "funds passed on by their deadlines"),
    ("spending_progress", "资金支出进度", "spending progress"),
    ("stranded_money", "滞留资金", "stranded funds"),
    ("exits_achieved", "脱贫成效", "exits from poverty achieved"),
    ("funds_per_exit", "每脱贫一人使用资金", "funds spent per person exiting poverty"),
    ("objections", "公告公示异议成立", "objections to notices upheld"),
    ("audit_findings", "审计发现问题", "audit findings")])
