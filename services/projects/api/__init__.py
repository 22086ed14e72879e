"""HTTP routers of the projects service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

from services.projects.api.adjustments import adjustments
from services.projects.api.assets import assets
from services.projects.api.catalogue import catalogue
from services.projects.api.implementation import implementation
from services.projects.api.projects import library
from services.projects.api.publicity import publicity
from services.projects.api.results import results

ROUTERS: list[APIRouter] = [library, publicity, implementation, assets, adjustments, results, catalogue]
