"""The app's route table, looked up by path instead of scanned on every request.

FastAPI matches a request against its routes one after the other — every included router, then
each of its routes, with scope bookkeeping around each attempt — so a route of the last included
router paid ~40 route matches per request, ~30% of the CPU a request spends before its endpoint
(``bench/RESULTS.md``, issue 13). :class:`RouteIndex` remembers, per request line, which top-level
entry of ``app.router.routes`` matched, and hands the request to it directly.

Guarantees:

1. **The same route as the scan.** An entry is remembered only after a scan in FastAPI's own order
   found it the first FULL match of that (scope type, method, route path); what decides a FULL
   match of a route or a mount is exactly those three (no ``Host`` routes: with one, no index).
   A hit re-checks the entry's match before handing over, so it never hands a request to a route
   that does not match it.
2. **Everything else is FastAPI's.** A request with no FULL match (404, 405, a redirect of a
   trailing slash, a low-priority route) goes to the router unchanged; a hit runs the steps the
   router runs for a FULL match (form limits, scope update, the telemetry route, ``handle``).
3. **Bounded.** At most :data:`LIMIT` request lines are remembered (paths with ids are many); when
   full the index starts again. Routes added after the first request (``include_router`` later)
   reset it.

It uses three private helpers of ``fastapi.routing``; ``tests/service/test_route_index.py`` checks
against every route of every service that the index and FastAPI's scan choose the same route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter, _apply_router_form_limits, _route_selected, _update_scope
from starlette import routing
from starlette._utils import get_route_path
from starlette.routing import Match

#: request lines remembered at most (then the index starts again)
LIMIT = 4096


class RouteIndex:
    """Stands in for the router's ``middleware_stack``: a request line seen before goes straight to
    the top-level route that matched it; any other request to the router as before."""

    def __init__(self, router: APIRouter):
        self.router, self.plain = router, router.middleware_stack
        self.entries: dict[tuple[str, str, str], int] = {}
        self.version = self._version()

    def _version(self) -> tuple[int, int]:
        return len(self.router.routes), getattr(self.router, "_routes_version", 0)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.plain(scope, receive, send)
        line = (scope["type"], scope["method"], get_route_path(scope))
        position = self.entries.get(line)
        if position is None:
            position = self._learn(line, scope)
            if position is None:
                return await self.plain(scope, receive, send)
        route = self.router.routes[position]
        router = self.router
        _apply_router_form_limits(scope, router.form_limits)
        scope.setdefault("router", router)
        match, child_scope = route.matches(scope)
        if match != Match.FULL:  # cannot happen for a remembered line; the router decides then
            return await self.plain(scope, receive, send)
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=getattr(route, "path_format", None), mount=isinstance(route, routing.Mount))
        await route.handle(scope, receive, send)

    def _learn(self, line: tuple[str, str, str], scope) -> int | None:
        """The position of the first top-level route FULL-matching ``scope`` (a scan of a copy: the
        scope the request goes on with is untouched), remembered; None if none does."""
        if self._version() != self.version or len(self.entries) >= LIMIT:
            self.entries.clear()
            self.version = self._version()
        for position, route in enumerate(self.router.routes):
            match, _ = route.matches(_copy(scope))
            if match == Match.FULL:
                self.entries[line] = position
                return position
        return None


def _copy(scope) -> dict[str, Any]:
    copied = dict(scope)
    for key, value in scope.items():
        if isinstance(value, dict):  # FastAPI keeps its bookkeeping in a nested dict of the scope
            copied[key] = dict(value)
    return copied


def install(app: FastAPI) -> None:
    """Index ``app``'s routes (after its routers are included), unless a ``Host`` route or a
    router middleware makes the request line not enough to choose a route."""
    router = app.router
    if router.middleware_stack != router.app or any(isinstance(r, routing.Host) for r in _every_route(router)):
        return
    router.middleware_stack = RouteIndex(router)


def _every_route(router) -> list[Any]:
    """The routes of ``router`` and of every router included in it."""
    found = []
    for route in router.routes:
        found.append(route)
        if (included := getattr(route, "original_router", None)) is not None:
            found.extend(_every_route(included))
    return found
