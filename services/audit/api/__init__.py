"""HTTP routers of the audit service (built with ``shared.web.router`` so writes are idempotent;
the audit service has none: auditors read, and every run is computed afresh)."""

from fastapi import APIRouter

from services.audit.api.audits import audits

ROUTERS: list[APIRouter] = [audits]
