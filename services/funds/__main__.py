"""``python -m services.funds``: serve the funds service (port from FUPIN_FUNDS_PORT)."""

from shared.web.serve import serve

serve("funds")
