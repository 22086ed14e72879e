"""The answers of the public board as JSON (``usecases/board.py``): every service's announcements
of a division named by place, one announcement, and where an objection stands by its receipt."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.registry.api.schemas.common import Division
from shared.announcements import contract
from shared.announcements.api import PublishedOut
from shared.web.answers import Answer

Service = Literal[contract.SERVICE.codes]  # type: ignore[valid-type]


class BoardNoticeOut(PublishedOut):
    """An announcement of any service as the board shows it (masked)."""

    service: Service = Field(description="who announced it")
    service_label: str = Field(description="who announced it, in Chinese")


class BoardOut(Answer):
    division: Division
    name: str = Field(description="the division's name in force today (精河县), or its code when unknown")
    current: list[BoardNoticeOut] = Field(description="published now")
    recent: list[BoardNoticeOut] = Field(description="closed in the last 90 days; older ones are in the archive")


class NoticeRefOut(Answer):
    id: str
    title: str
    service: Service
    service_label: str
    division: Division


class ObjectionStatusOut(Answer):
    """Where an objection stands: never its text or who filed it."""

    receipt: str = Field(description="10 characters, Crockford base32 with a check character")
    status: Literal["received", "answered"]
    status_label: str
    decision: Literal["upheld", "dismissed"] | None
    decision_label: str | None
    filed_at: str
    answered_at: str | None
    announcement: NoticeRefOut | None = Field(description="the notice it concerns")


class ArchiveOut(Answer):
    """A page of the archive: every announcement ever published under the division that the search finds."""

    division: Division
    total: int = Field(description="announcements found")
    page: int
    pages: int
    items: list[BoardNoticeOut] = Field(description="newest first, 20 a page")
