"""The audit service (审计 audit): replays the other services' event logs from Kafka, their feeds or
an export; verifies the chains, the export manifest and the cross-service references; rebuilds
ledger balances, households, registry statistics and the project library with the services' own
domain functions and diffs them with the live APIs; checks compliance as of a date (each finding
citing its rule id); reports as JSON, CSV and HTML (``fupin audit …`` and ``GET /audit/…``)."""
