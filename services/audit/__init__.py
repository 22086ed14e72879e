"""The audit service (审计 audit). Replays the other services' event logs, verifies the chains, rebuilds figures and checks compliance. Business endpoints arrive with issue #7."""
