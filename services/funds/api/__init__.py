"""HTTP routers of the funds service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

from services.funds.api.batches import batches
from services.funds.api.catalogue import catalogue
from services.funds.api.corrections import corrections_router
from services.funds.api.notices import notices
from services.funds.api.operations import operations
from services.funds.api.payments import payments
from services.funds.api.projects import fundable
from services.funds.api.purposes import purposes
from services.funds.api.reports import reports

ROUTERS: list[APIRouter] = [operations, batches, corrections_router, notices, reports, fundable, purposes, payments,
                            catalogue]
