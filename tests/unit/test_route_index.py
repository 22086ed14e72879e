"""The route index (shared/web/route_index.py) hands every request to the route FastAPI's own scan
would choose: checked for every operation of every service, for an unknown path and a method a
path does not allow, on the first request of a line (learned) and on the next (remembered)."""

from __future__ import annotations

import asyncio
import re

import pytest

from shared.config import SERVICES, settings_for
from shared.web.route_index import LIMIT, RouteIndex


def _app(service: str, indexed: bool):
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x"), run_background=False)
    if not indexed:
        app.router.middleware_stack = app.router.app  # FastAPI's own scan
    return app


def _lines(app) -> list[tuple[str, str]]:
    """(method, a concrete path) of every documented operation, and two lines no operation has."""
    lines = []
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        lines.extend((method.upper(), concrete) for method in operations)
    return lines + [("GET", "/no-such-path"), ("PATCH", "/healthz")]


def _routed(app, method: str, path: str) -> tuple[object, int | None]:
    """The route the app chose for a request (its path template and endpoint), and the status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
    statuses = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    try:
        asyncio.run(app(scope, receive, send))
    except Exception:  # no database behind these apps: what matters is the route chosen
        pass
    route = scope.get("route")
    return ((getattr(route, "path", None), getattr(getattr(route, "endpoint", None), "__qualname__", None)),
            statuses[0] if statuses else None)


@pytest.mark.parametrize("service", SERVICES)
def test_the_index_chooses_the_route_fastapis_scan_chooses_for_every_operation(service):
    indexed, plain = _app(service, indexed=True), _app(service, indexed=False)
    assert isinstance(indexed.router.middleware_stack, RouteIndex)
    for method, path in _lines(plain):
        expected = _routed(plain, method, path)
        assert _routed(indexed, method, path) == expected, (method, path)  # learned
        assert _routed(indexed, method, path) == expected, (method, path)  # remembered


def test_unknown_and_refused_lines_are_not_remembered_and_the_index_is_bounded():
    app = _app("funds", indexed=True)
    index = app.router.middleware_stack
    assert _routed(app, "GET", "/no-such-path")[1] == 404
    assert _routed(app, "PATCH", "/healthz")[1] == 405
    assert index.entries == {}
    _routed(app, "GET", "/healthz")
    assert list(index.entries) == [("http", "GET", "/healthz")]
    index.entries.update({("http", "GET", f"/x{i}"): 0 for i in range(LIMIT)})
    _routed(app, "GET", "/readyz")
    assert ("http", "GET", "/readyz") in index.entries and len(index.entries) == 1
