"""``python -m services.console``: serve the officials' console (port from FUPIN_CONSOLE_PORT)."""

import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared import logging as fupin_logging

settings = ConsoleSettings()
fupin_logging.configure(settings.log_level, settings.log_json)
uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False,
            proxy_headers=False)
