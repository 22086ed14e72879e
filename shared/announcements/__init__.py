"""Announcements (公告公示): the publicity workflow every service uses with its own tables and
events — draft, publish for a period, objections, close as passed or failed — and the public
board where villagers read notices and object.

Workflows gate their next step with :func:`require_passed`.

Layers, each importable without the ones after it: ``domain`` (pure rules: no SQLAlchemy, no
FastAPI), ``service`` (the use cases on the database), ``api``/``public``/``routes`` (HTTP). The
use cases are re-exported here (``announcements.announce(...)``) but loaded on first use, so that
``import shared.announcements.domain`` stays pure.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.announcements.service import (
        announce, close_due, draft, file_objection, publish, require_passed, resolve_objection, withdraw,
    )

__all__ = ["announce", "close_due", "draft", "file_objection", "publish", "require_passed", "resolve_objection", "withdraw"]


def __getattr__(name: str) -> Any:
    """The use cases of :mod:`shared.announcements.service`, imported when first asked for (PEP 562)."""
    if name in __all__:
        return getattr(import_module("shared.announcements.service"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
