"""How every server of the project is served: options that decide behaviour at the edges of a connection."""
import httpx

from services.console.settings import ConsoleSettings
from shared.config import settings_for
from shared.web.serve import server_config


async def _app(scope, receive, send):  # pragma: no cover - never called: only configured
    raise AssertionError


def test_the_server_keeps_idle_connections_longer_than_its_clients_do():
    # if both sides give up on an idle connection after the same time, a client may send its request on
    # a connection the server is closing and get "Server disconnected without sending a response"
    config = server_config(_app, settings_for("funds"))
    assert config.timeout_keep_alive > httpx.Limits().keepalive_expiry
    assert config.timeout_keep_alive > 60  # common reverse proxies keep idle upstream connections 60 s


def test_every_server_leaves_forwarded_headers_and_logging_to_the_app():
    for settings in (settings_for("registry"), ConsoleSettings()):
        config = server_config(_app, settings)
        assert config.proxy_headers is False and config.access_log is False and config.log_config is None
        assert (config.host, config.port) == (settings.host, settings.port)


def test_a_caller_may_override_one_option():
    config = server_config(_app, settings_for("projects"), port=1, lifespan="on")
    assert config.port == 1 and config.lifespan == "on" and config.timeout_keep_alive > 60
