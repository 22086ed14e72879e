"""``python -m services.projects``: serve the projects service (port from FUPIN_PROJECTS_PORT)."""

from shared.web.serve import serve

serve("projects")
