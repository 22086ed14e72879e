"""HTTP routers of the audit service (built with ``shared.web.router`` so writes are idempotent;
the audit service stores nothing: auditors read, and every run is computed afresh — the factor
sheet is a POST only because its body carries the reference data)."""

from fastapi import APIRouter

from services.audit.api.audits import audits
from services.audit.api.catalogue import catalogue
from services.audit.api.scores import performance

ROUTERS: list[APIRouter] = [audits, performance, catalogue]
