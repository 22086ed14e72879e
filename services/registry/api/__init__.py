"""HTTP routers of the registry service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

from services.registry.api.assistance import assistance
from services.registry.api.board import board_router
from services.registry.api.catalogue import catalogue
from services.registry.api.corrections import correction_router
from services.registry.api.divisions import router as divisions
from services.registry.api.duplicates import duplicate_router
from services.registry.api.error_rates import error_rates
from services.registry.api.exchange import exchange
from services.registry.api.households import households
from services.registry.api.grievances import grievance_router
from services.registry.api.imports import router as imports
from services.registry.api.statistics import statistics

ROUTERS: list[APIRouter] = [households, assistance, statistics, divisions, imports, grievance_router,
                            correction_router, duplicate_router, exchange,
                            error_rates, board_router, catalogue]
