"""Serve one service with uvicorn (``python -m services.<name>``), in ``FUPIN_WORKERS`` processes."""

import asyncio
import importlib
import os
from typing import Any

import uvicorn

from shared.config import settings_for
from shared.db import prepare_database


#: how long an idle kept-alive connection stays open on the server. Longer than any client's own
#: idle expiry (httpx: 5 s; proxies: 60 s), so that the client always closes first: with uvicorn's
#: default of 5 s — httpx's too — a request sent on a connection just as the server closes it finds
#: "Server disconnected without sending a response" (seen in the e2e suite across partitions).
KEEP_ALIVE_SECONDS = 75
#: what every server of the project is served with: proxy headers are the app's business
#: (shared/web/client.py, FUPIN_FORWARDED_ALLOW_IPS) — uvicorn's own default would believe
#: X-Forwarded-For from any peer on 127.0.0.1
SERVER_OPTIONS: dict[str, Any] = {"log_config": None, "access_log": False, "proxy_headers": False,
                                  "timeout_keep_alive": KEEP_ALIVE_SECONDS}


def server_config(app, settings, **options) -> uvicorn.Config:
    """The uvicorn configuration of one server (a service's or the console's settings)."""
    return uvicorn.Config(app, **{"host": settings.host, "port": settings.port, **SERVER_OPTIONS, **options})


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
                port=settings.port, **SERVER_OPTIONS)

