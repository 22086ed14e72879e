"""Time comes from a Clock, so tests, demos and the auditor can set it.

``now()`` is an aware UTC datetime; ``today()`` is the business date, which is the date in
China (Asia/Shanghai, UTC+8) — 2024-01-01T16:00Z is already 2024-01-02 there.
``FUPIN_CLOCK`` (see ``clock_from_env``) starts a service on a settable clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

__all__ = ["CHINA_TZ", "Clock", "SettableClock", "SystemClock", "clock_from_env"]

CHINA_TZ = ZoneInfo("Asia/Shanghai")


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def today(self) -> date:
        """The current business date (the date in Asia/Shanghai)."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(CHINA_TZ).date()

    def __repr__(self) -> str:
        return "SystemClock()"


def _require_aware(dt: datetime) -> datetime:
    if not isinstance(dt, datetime):
        raise ValueError(f"时间必须是 datetime (time must be a datetime, got {type(dt).__name__})")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("时间必须带时区 (datetime must be timezone-aware)")
    return dt.astimezone(UTC)


class SettableClock:
    """A clock that stands still until it is set or advanced."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def today(self) -> date:
        return self.now().astimezone(CHINA_TZ).date()

    def set(self, dt: datetime) -> None:
        """Jump to ``dt`` (aware; may be earlier than the current time)."""
        new = _require_aware(dt)
        with self._lock:
            self._now = new

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move forward by ``delta`` and/or ``timedelta(**kwargs)``; returns the new time.

        ``clock.advance(days=1)`` and ``clock.advance(timedelta(hours=2))`` both work.
        """
        if delta is not None and not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a timedelta, got {type(delta).__name__}")
        step = (delta or timedelta()) + timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        return f"SettableClock({self.now().isoformat()!r})"


def clock_from_env(value: str | None) -> Clock:
    """Build the clock named by ``FUPIN_CLOCK``.

    Unset or empty → ``SystemClock``; an aware ISO 8601 datetime such as
    ``2024-06-30T09:00:00+08:00`` → ``SettableClock`` starting there.  Anything else
    (including a naive datetime or a bare date) raises ValueError.
    """
    if value is None or not value.strip():
        return SystemClock()
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"FUPIN_CLOCK 不是有效的 ISO 8601 时间 (FUPIN_CLOCK is not an ISO 8601 datetime: {value!r})"
        ) from None
    if start.tzinfo is None:
        raise ValueError(
            f"FUPIN_CLOCK 必须带时区，如 +08:00 (FUPIN_CLOCK must include a UTC offset: {value!r})"
        )
    return SettableClock(start)
