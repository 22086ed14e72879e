"""Builds the audit service's FastAPI app."""

from fastapi import FastAPI

from services.audit.api import ROUTERS
from services.audit.handlers import CONSUMES
from shared.config import AuditSettings
from shared.web import create_app as build


def create_app(settings: AuditSettings | None = None, **options) -> FastAPI:
    return build(
        settings or AuditSettings(),
        title="Fupin audit — 审计 audit",
        description="Replays the other services' event logs, verifies the chains, rebuilds figures and checks compliance. Business endpoints arrive with issue #7.",
        routers=ROUTERS,
        consumes=CONSUMES,
        **options,
    )
