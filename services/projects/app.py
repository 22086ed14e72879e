"""Builds the projects service's FastAPI app."""

from fastapi import FastAPI

from services.projects.api import ROUTERS
from services.projects.handlers import CONSUMES
from shared.config import ProjectsSettings
from shared.web import create_app as build


def create_app(settings: ProjectsSettings | None = None, **options) -> FastAPI:
    return build(
        settings or ProjectsSettings(),
        title="Fupin projects — 扶贫项目库 project library",
        description='The project library lifecycle, beneficiaries, acceptance (验收) and assets. Business endpoints arrive with issue #6.',
        routers=ROUTERS,
        consumes=CONSUMES,
        **options,
    )
