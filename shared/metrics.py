"""Prometheus metrics shared by every service (one process may host several, so each carries
a ``service`` label)."""

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "fupin_http_request_duration_seconds",
    "HTTP request latency by route",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_APPENDED = Counter(
    "fupin_events_appended_total", "Events committed to the service's log", ["service", "type"]
)
RELAY_LAG = Gauge(
    "fupin_relay_lag_events", "Events in the log not yet confirmed by the broker", ["service"]
)
RELAY_PUBLISHED = Counter(
    "fupin_relay_published_total", "Events published to the broker (re-publishes included)", ["service"]
)
CONSUMER_LAG = Gauge(
    "fupin_consumer_lag_events",
    "Messages on the source topic not yet processed by this service",
    ["service", "source"],
)
CONSUMER_PROCESSED = Counter(
    "fupin_consumer_events_total",
    "Events consumed, by outcome (handled, skipped duplicate, backfilled)",
    ["service", "source", "outcome"],
)
TREE_SIZE = Gauge("fupin_merkle_tree_size", "Leaves in the Merkle tree over the service's log", ["service"])
CHECKPOINTS_SIGNED = Counter("fupin_checkpoints_signed_total", "Checkpoints of the log signed", ["service"])
LOG_MISSING_EVENTS = Gauge(
    "fupin_log_missing_events",
    "Events that a checkpoint, the tree, the relay or the topic knows of but the log no longer holds",
    ["service"],
)
LOG_INTEGRITY_ALARM = Gauge(
    "fupin_log_integrity_alarm", "1 while the log is truncated or no longer extends its tree", ["service", "kind"]
)
WITNESS_CHECKPOINTS = Counter(
    "fupin_witness_checkpoints_total",
    "Checkpoints of other services' logs judged by this service's witness, by verdict "
    "(cosign, known, older, alarm, rejected)",
    ["service", "origin", "verdict"],
)
WITNESS_ALARMS = Counter(
    "fupin_witness_alarms_total", "Alarms raised by this service's witness (fork, inconsistent, truncated)",
    ["service", "origin", "kind"],
)
GROUP_COMMITS = Counter(
    "fupin_group_commits_total",
    "Transactions of grouped writes (shared/web/group_commit.py), by group and outcome "
    "(committed, failed; a lone refused request rolls back)",
    ["service", "group", "outcome"],
)
GROUP_MEMBERS = Counter(
    "fupin_group_commit_members_total", "Write requests that joined a group commit", ["service", "group"]
)
