"""HTTP routers of the funds service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

from services.funds.api.operations import operations

ROUTERS: list[APIRouter] = [operations]
