"""Builds the registry service's FastAPI app."""

from fastapi import FastAPI

from services.registry.api import ROUTERS
from services.registry.handlers import CONSUMES
from shared.config import RegistrySettings
from services.registry.usecases.board import division_names
from shared.announcements import routes as announcements
from shared.web import create_app as build


def create_app(settings: RegistrySettings | None = None, **options) -> FastAPI:
    return build(
        settings or RegistrySettings(),
        title="Fupin registry — 建档立卡 household registry",
        description='Households and persons (建档立卡), assistance measures, exits, monitoring.',
        routers=[*announcements.ROUTERS, *ROUTERS],
        consumes=CONSUMES,
        workers=announcements.WORKERS,
        on_startup=[announcements.names_from(division_names)],
        **options,
    )
