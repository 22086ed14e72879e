"""Serve one service with uvicorn (``python -m services.<name>``), in ``FUPIN_WORKERS`` processes."""

import asyncio
import importlib
import os

import uvicorn

from shared.config import Settings, settings_for
from shared.db import prepare_database


def server_config(app, settings: Settings) -> uvicorn.Config:
    # proxy headers are the app's business (shared/web/client.py, FUPIN_FORWARDED_ALLOW_IPS): uvicorn's
    # own default would believe X-Forwarded-For from any peer on 127.0.0.1
    return uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                          proxy_headers=False)


def serve(service: str) -> None:
    settings = settings_for(service)
    if settings.workers == 1:
        app = importlib.import_module(f"services.{service}.app").create_app(settings)
        uvicorn.Server(server_config(app, settings)).run()
        return
    if settings.migrate_on_start:  # once, here, rather than racing in every worker
        asyncio.run(prepare_database(settings))
        os.environ["FUPIN_MIGRATE_ON_START"] = "false"
    uvicorn.run(f"services.{service}.app:create_app", factory=True, workers=settings.workers, host=settings.host,
                port=settings.port, log_config=None, access_log=False, proxy_headers=False)

