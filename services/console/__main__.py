"""``python -m services.console``: serve the officials' console (port from FUPIN_CONSOLE_PORT)."""

import uvicorn

from services.console.settings import ConsoleSettings
from shared import logging as fupin_logging

settings = ConsoleSettings()
# before the app's imports, so that their warnings are log lines too
fupin_logging.configure(settings.log_level, settings.log_as_json, settings.service)
from services.console.app import create_app  # noqa: E402
from shared.web.serve import server_config  # noqa: E402

uvicorn.Server(server_config(create_app(settings), settings)).run()
