"""``python -m services.console``: serve the officials' console (port from FUPIN_CONSOLE_PORT)."""

import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings

settings = ConsoleSettings()
uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False,
            proxy_headers=False)
