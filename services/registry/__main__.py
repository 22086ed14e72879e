"""``python -m services.registry``: serve the registry service (port from FUPIN_REGISTRY_PORT)."""

from shared.web.serve import serve

serve("registry")
