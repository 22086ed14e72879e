"""HTTP routers of the projects service (built with ``shared.web.router`` so writes are idempotent)."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
