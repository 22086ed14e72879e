"""Builds the audit service's FastAPI app."""

from fastapi import FastAPI

from services.audit.api import ROUTERS
from services.audit.handlers import CONSUMES
from shared.config import AuditSettings
from shared.announcements import routes as announcements
from shared.web import create_app as build


def create_app(settings: AuditSettings | None = None, **options) -> FastAPI:
    return build(
        settings or AuditSettings(),
        title="Fupin audit — 审计 audit",
        description="For auditors (审计, 纪检, third-party evaluators): replays every service's event log, verifies "
        "each hash chain and the cross-service references, rebuilds ledger balances, household states, registry "
        "statistics and the project library with the services' own domain functions, compares them with what the "
        "services report, and checks compliance as of a date, each finding citing its rule; scores each division's "
        "year (绩效考评) from the events alone and generates the next year's factor sheet from the scores. Read-only.",
        routers=[*announcements.ROUTERS, *ROUTERS],
        consumes=CONSUMES,
        workers=announcements.WORKERS,
        **options,
    )
