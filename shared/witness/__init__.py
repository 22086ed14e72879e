"""Witnessing the other services' logs (C2SP tlog-witness): co-sign each log's checkpoints after a
consistency proof, raise an alarm and keep the evidence when a log contradicts itself."""
