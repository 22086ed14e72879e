"""Serve one service with uvicorn (``python -m services.<name>``)."""

import importlib

import uvicorn

from shared.config import settings_for


def serve(service: str) -> None:
    settings = settings_for(service)
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    # proxy headers are the app's business (shared/web/client.py, FUPIN_FORWARDED_ALLOW_IPS): uvicorn's
    # own default would believe X-Forwarded-For from any local peer
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                proxy_headers=False)
