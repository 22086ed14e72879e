"""What a service mounts to announce (公告公示) with its own tables and events: the officials' and
the public routers, and the worker that closes announcements whose period is over.

The service's ``app.py`` passes these to ``shared.web.create_app`` with its own routers and
workers; the web layer itself imports nothing of the announcements (they are built with its
``router()``, so the import runs one way: announcements → web).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, FastAPI

from shared.announcements.api import official
from shared.announcements.public import public
from shared.announcements.scheduler import AnnouncementScheduler

ROUTERS: tuple[APIRouter, ...] = (official, public)


def scheduler(app: FastAPI) -> AnnouncementScheduler:
    """The worker closing the service's due announcements on its clock (``create_app``'s ``workers``)."""
    settings = app.state.settings
    return AnnouncementScheduler(app.state.sessionmaker, app.state.clock, settings.scheduler_seconds, settings.service)


WORKERS = (scheduler,)

NameLookup = Callable[[Any, set[str], date], Awaitable[dict[str, str]]]


def names_from(lookup: NameLookup) -> Callable[[FastAPI], Awaitable[None]]:
    """A startup hook (``create_app``'s ``on_startup``) naming where the service's public pages read
    division names: ``(session, codes, on) -> {code: name}`` — the registry's divisions, or
    ``places.names`` (the read model of the registry's events) in the other services."""
    async def hook(app: FastAPI) -> None:
        app.state.division_names = lookup
    return hook
