"""HTTP routers of the registry service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

from services.registry.api.assistance import assistance
from services.registry.api.households import households

ROUTERS: list[APIRouter] = [households, assistance]
