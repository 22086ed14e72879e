"""The funds service (财政扶贫资金 fiscal poverty funds).

The double-entry ledger of poverty funds: allocation (下达), integration (整合), disbursement (拨付), deadlines.
"""
