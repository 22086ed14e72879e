"""Serve one service with uvicorn (``python -m services.<name>``), in ``FUPIN_WORKERS`` processes."""

import asyncio
import importlib
import os

import uvicorn

from shared.config import settings_for
from shared.db import prepare_database


def serve(service: str) -> None:
    settings = settings_for(service)
    options = dict(host=settings.host, port=settings.port, log_config=None, access_log=False)
    if settings.workers == 1:
        app = importlib.import_module(f"services.{service}.app").create_app(settings)
        uvicorn.run(app, **options)
        return
    if settings.migrate_on_start:  # once, here, rather than racing in every worker
        asyncio.run(prepare_database(settings))
        os.environ["FUPIN_MIGRATE_ON_START"] = "false"
    uvicorn.run(f"services.{service}.app:create_app", factory=True, workers=settings.workers, **options)
