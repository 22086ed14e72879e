"""``python -m services.audit``: serve the audit service (port from FUPIN_AUDIT_PORT)."""

from shared.web.serve import serve

serve("audit")
