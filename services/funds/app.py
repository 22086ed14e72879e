"""Builds the funds service's FastAPI app."""

from fastapi import FastAPI

from services.funds.api import ROUTERS
from services.funds.usecases.deadlines import DeadlineScheduler
from services.funds.handlers import CONSUMES
from shared.config import FundsSettings
from shared.announcements import places
from shared.announcements import routes as announcements
from shared.web import create_app as build


def _deadline_scheduler(app: FastAPI) -> DeadlineScheduler:
    return DeadlineScheduler(app.state.sessionmaker, app.state.clock, app.state.settings.scheduler_seconds,
                             app.state.policy)


def create_app(settings: FundsSettings | None = None, **options) -> FastAPI:
    return build(
        settings or FundsSettings(),
        workers=[_deadline_scheduler, *announcements.WORKERS],
        title="Fupin funds — 财政扶贫资金 fiscal poverty funds",
        description="The double-entry ledger of poverty funds: allocation (下达), integration (整合), disbursement (拨付), "
                    "deadlines.",
        routers=[*announcements.ROUTERS, *ROUTERS],
        consumes=CONSUMES,
        on_startup=[announcements.names_from(places.names)],
        **options,
    )
