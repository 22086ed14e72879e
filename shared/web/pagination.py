"""Cursor (keyset) pagination: ``?cursor=&limit=`` in, ``{items, next_cursor}`` out.

A cursor is the opaque, URL-safe encoding of the sort key of the last item returned; the next
page is everything after it. Unlike offsets, pages stay stable while rows are being added.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Sequence, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.errors import Unprocessable
from shared.fields import BIGINT_MAX
from shared.web.boundary import forbidden_character

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or not all(map(_storable, key)):
            raise ValueError
        return key
    except ValueError:
        raise _invalid_cursor() from None


def _storable(value: Any) -> bool:
    """A sort key the database can compare: text without control characters, an integer in BIGINT
    (a cursor is client input like any other — see shared/web/boundary.py)."""
    if isinstance(value, str):
        return forbidden_character(value) is None
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= BIGINT_MAX


def _invalid_cursor() -> Unprocessable:
    return Unprocessable("分页游标无效 (invalid cursor)",
                         errors=[{"field": "cursor", "reason": "not a cursor from a previous page"}])


@dataclass(frozen=True)
class PageParams:
    cursor: list[Any] | None
    limit: int

    def after(self, convert=lambda value: value) -> Any:
        """The cursor's (single) sort key, converted (e.g. ``uuid.UUID``); None on the first page."""
        if not self.cursor:
            return None
        try:
            return convert(self.cursor[0])
        except (ValueError, TypeError, AttributeError):
            raise _invalid_cursor() from None

    def page(self, rows: Sequence[T], key_of) -> Page[T]:
        """Build the page from ``limit + 1`` fetched rows (the extra one tells if there is more)."""
        items = list(rows[: self.limit])
        more = len(rows) > self.limit
        return Page[Any](items=items, next_cursor=encode_cursor(key_of(items[-1])) if more and items else None)


def page_params(
    cursor: str | None = Query(None, description="opaque cursor from the previous page's next_cursor"),
    limit: int = Query(50, ge=1, le=500, description="items per page (1–500)"),
) -> PageParams:
    return PageParams(decode_cursor(cursor) if cursor else None, limit)


Paging = Annotated[PageParams, Depends(page_params)]
"""A list route's page: ``params: Paging`` (``cursor`` and ``limit`` query parameters)."""
