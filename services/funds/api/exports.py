"""The funds reports as spreadsheets (``shared.web.export``): what each column of each report is."""

from __future__ import annotations

from services.funds.domain.channels import CHANNEL_LABELS
from services.funds.domain.deadlines import DEADLINE_KIND_LABELS
from services.funds.domain.ledger import KIND_LABELS, OPERATION_LABELS, ROLE_LABELS
from services.funds.domain.payments import DIFFERENCE_LABELS, STATE_LABELS
from shared.money import format_fen
from shared.web.export import Column, Export, labels, whole

_CHANNEL = labels(CHANNEL_LABELS)
_STATES = {"open": "未到期", "met": "按期完成", "missed": "逾期"}

BALANCES = Export("资金余额", rows="items", columns=(
    Column("account_id", "账户编号", "int"),
    Column("division", "区划代码"),
    Column("role", "持有部门", label=labels(ROLE_LABELS)),
    Column("channel", "资金渠道", label=_CHANNEL),
    Column("channel", "渠道代码"),
    Column("fiscal_year", "年度", "int"),
    Column("kind", "账户类别", label=labels(KIND_LABELS)),
    Column("reference", "项目或收款人"),
    Column("balance", "余额（元）", "yuan"),
))

DEADLINES = Export("资金时限", rows="items", columns=(
    Column("title", "事项"),
    Column("receiver", "接收区划代码"),
    Column("channel", "资金渠道", label=_CHANNEL),
    Column("fiscal_year", "年度", "int"),
    Column("kind", "时限类别", label=labels(DEADLINE_KIND_LABELS)),
    Column("amount_fen", "金额（元）", "yuan", label=format_fen),
    Column("due", "截止日期", "date"),
    Column("state", "状态", label=labels(_STATES)),
    Column("settled_on", "完成日期", "date"),
    Column("days_remaining", "剩余天数", "int"),
    Column("days_overdue", "逾期天数", "int"),
    Column("rule_id", "规则"),
    Column("citation", "依据"),
))

SPENDING = Export("支出进度", rows=whole, columns=(
    Column("division", "区划代码"),
    Column("fiscal_year", "年度", "int"),
    Column("received", "收到资金（元）", "yuan"),
    Column("received_by_source.allocated", "其中：上级下达（元）", "yuan"),
    Column("received_by_source.reallocated", "其中：收回资金调剂（元）", "yuan"),
    Column("received_by_source.own_appropriation", "其中：本级财政安排（元）", "yuan"),
    Column("received_by_source.carried_forward", "其中：上年结转（元）", "yuan"),
    Column("passed_on", "下拨（元）", "yuan"),
    Column("committed", "安排到项目（元）", "yuan"),
    Column("disbursed", "已拨付（元）", "yuan"),
    Column("stranded", "滞留（元）", "yuan"),
    Column("returned", "收回（元）", "yuan"),
    Column("decommitted", "项目结余退回（元）", "yuan"),
    Column("carried_out", "结转下年（元）", "yuan"),
    Column("disbursed_percent", "支出进度（%）", "percent"),
))

STRANDED = Export("滞留资金", rows="items", columns=(
    Column("account_id", "账户编号", "int"),
    Column("division", "区划代码"),
    Column("channel", "资金渠道", label=_CHANNEL),
    Column("fiscal_year", "年度", "int"),
    Column("project_code", "项目编号"),
    Column("stranded", "认定滞留（元）", "yuan"),
    Column("returned", "已收回（元）", "yuan"),
    Column("held", "仍滞留（元）", "yuan"),
    Column("due", "收回期限", "date"),
    Column("days_remaining", "剩余天数", "int"),
    Column("days_overdue", "逾期天数", "int"),
    Column("citation", "依据"),
))

TRACE = Export("资金流向追溯", rows="postings", columns=(
    Column("posting_id", "记账编号"),
    Column("operation", "业务", label=labels(OPERATION_LABELS)),
    Column("document_no", "文号"),
    Column("document_date", "文件日期", "date"),
    Column("from.division", "付出区划代码"),
    Column("from.kind", "付出账户", label=labels(KIND_LABELS)),
    Column("to.division", "收入区划代码"),
    Column("to.kind", "收入账户", label=labels(KIND_LABELS)),
    Column("to.channel", "资金渠道", label=_CHANNEL),
    Column("to.fiscal_year", "年度", "int"),
    Column("to.reference", "项目或收款人"),
    Column("purpose", "用途"),
    Column("amount", "金额（元）", "yuan"),
))

DEADLINE_COMPLIANCE = Export("资金时限执行情况", rows="groups", columns=(
    Column("receiver", "接收区划代码"),
    Column("kind", "时限类别", label=labels(DEADLINE_KIND_LABELS)),
    Column("total", "时限数", "int"),
    Column("met", "按期完成", "int"),
    Column("missed", "逾期", "int"),
    Column("open", "未到期或未完成", "int"),
    Column("open_overdue", "已过期未完成", "int"),
    Column("settled_late", "逾期后完成", "int"),
    Column("withdrawn", "已撤销（下达已冲正，不计入）", "int"),
    Column("compliance_percent", "按期率（%）", "percent"),
    Column("days_to_settle.median", "完成用时中位数（天）", "int"),
    Column("days_to_settle.max", "最长用时（天）", "int"),
))


def _listed(answer):
    """A list answered bare (a JSON array): its rows."""
    return answer


def _current_or_replaced(account) -> str:
    return "已更换" if account.get("superseded_by") else "现用"


#: 收款账户: a payee's accounts, current and superseded; the number masked as in JSON
PAYEE_ACCOUNTS = Export("收款账户", rows=_listed, columns=(
    Column("holder", "收款人"),
    Column("account_name", "户名"),
    Column("bank_code", "收款行行号"),
    Column("bank_name", "开户银行"),
    Column("account_no", "账号（脱敏）"),
    Column(_current_or_replaced, "状态"),
    Column("registered_at", "登记时间"),
    Column("account_id", "账户编号"),
    Column("superseded_by", "更换为账户"),
))


PAYMENT_INSTRUCTIONS = Export("支付指令", rows=_listed, columns=(
    Column("ref", "指令编号"),
    Column("payee", "收款人"),
    Column("account.account_name", "户名"),
    Column("account.bank_name", "开户银行"),
    Column("account.account_no", "账号（脱敏）"),
    Column("project_code", "项目编号"),
    Column("amount", "金额（元）", "yuan"),
    Column("state", "状态", label=labels(STATE_LABELS)),
    Column("reason_code", "退回代码"),
    Column("reason", "退回原因"),
    Column("file_id", "支付文件"),
    Column("posting_id", "拨付分录"),
))


def _differences(reconciliation) -> str:
    return "；".join(f"{DIFFERENCE_LABELS.get(d['kind'], (d['kind'],))[0]} {d.get('ref') or ''} "
                    f"账面{d.get('ledger') or '0.00'} 银行{d.get('bank') or '0.00'}"
                    for d in reconciliation.get("differences") or [])


RECONCILIATIONS = Export("专户对账", rows=_listed, columns=(
    Column("on", "对账日期", "date"),
    Column("ledger_debit", "账面支出（元）", "yuan"),
    Column("bank_debit", "银行支出（元）", "yuan"),
    Column("balanced", "是否相符"),
    Column(lambda r: len(r.get("differences") or []), "差异笔数", "int"),
    Column(_differences, "差异明细"),
    Column("reconciliation_id", "对账编号"),
))
