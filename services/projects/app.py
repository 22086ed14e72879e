"""Builds the projects service's FastAPI app."""

from fastapi import FastAPI

from services.projects.api import ROUTERS
from services.projects.handlers import CONSUMES
from shared.config import ProjectsSettings
from shared.announcements import places
from shared.announcements import routes as announcements
from shared.web import create_app as build


def create_app(settings: ProjectsSettings | None = None, **options) -> FastAPI:
    return build(
        settings or ProjectsSettings(),
        title="Fupin projects — 扶贫项目库 project library",
        description="The project library (国开办发〔2018〕10号): proposal → township review → county appraisal and approval → "
                    "publicity at each level → library → annual plan → funding (from the funds service) → progress → "
                    "completion → acceptance (验收) → results announcement → asset handover (资产移交); beneficiaries from "
                    "the registry, benefits published to it, asset income distributions, the annual adjustment; the performance "
                    "evaluation (绩效评价) of accepted projects; 百企千村 enterprises and their pairings with villages, "
                    "checked against what the projects achieved.",
        routers=[*announcements.ROUTERS, *ROUTERS],
        consumes=CONSUMES,
        workers=announcements.WORKERS,
        on_startup=[announcements.names_from(places.names)],
        **options,
    )
