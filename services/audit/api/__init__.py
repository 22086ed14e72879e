"""HTTP routers of the audit service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
