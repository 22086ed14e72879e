"""The funds service's use cases: between the routers (``api/``) and the pure domain (``domain/``).

A use case loads rows, calls the domain, and writes rows and events in one unit of work; routers
parse the request, call one use case and render its result; event handlers call the same use cases.

- ``ledger``: posting (judge, record, group commit), the ledger rebuilt from its rows.
- ``deadlines``: the 拨付时限 deadline of each receipt, its view and the scheduler that flags it.
- ``accounts``: an ``accounts`` row as the domain's ``AccountKey`` and as the API shows it.
- ``gate``: the projects gate (commitments, single disbursements, batch lines).
- ``commitments``: commitments (gate, purpose, management-fee cap) and strandings.
- ``disbursements``: the group commit of single disbursements; ``batches``: disbursement batches.
- ``payments``: money that leaves the system — registered-household payees, bank accounts with
  history, payment files (pain.001 / CSV), bank results and re-issues, reconciliation of the 专户.
"""
