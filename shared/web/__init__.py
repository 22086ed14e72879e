"""The web layer shared by every service: app factory, problem+json, idempotency, pagination,
health and metrics."""

from shared.web.app import create_app, router
from shared.web.idempotency import Session, db_session
from shared.web.pagination import Page, PageParams, Paging, page_params

__all__ = ["Page", "PageParams", "Paging", "Session", "create_app", "db_session", "page_params", "router"]
