"""The audit's own pure rules (no database, HTTP or Kafka)."""
