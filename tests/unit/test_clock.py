"""Unit tests for shared.clock."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.clock import CHINA_TZ, Clock, SettableClock, SystemClock, clock_from_env

START = datetime(2024, 6, 30, 1, 0, tzinfo=UTC)


def test_china_tz() -> None:
    assert str(CHINA_TZ) == "Asia/Shanghai"
    assert datetime(2024, 1, 1, tzinfo=CHINA_TZ).utcoffset() == timedelta(hours=8)


def test_system_clock_now_is_aware_utc_and_current() -> None:
    clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= after


def test_system_clock_today_is_china_date() -> None:
    clock = SystemClock()
    before = datetime.now(CHINA_TZ).date()
    today = clock.today()
    after = datetime.now(CHINA_TZ).date()
    assert before <= today <= after


def test_clocks_satisfy_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(SettableClock(START), Clock)


def test_settable_clock_stands_still() -> None:
    clock = SettableClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_settable_clock_converts_to_utc() -> None:
    clock = SettableClock(datetime(2024, 6, 30, 9, 0, tzinfo=CHINA_TZ))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2024, 1, 1, 15, 59, 59, tzinfo=UTC), date(2024, 1, 1)),
        (datetime(2024, 1, 1, 16, 0, tzinfo=UTC), date(2024, 1, 2)),  # midnight in Beijing
        (datetime(2023, 12, 31, 16, 0, tzinfo=UTC), date(2024, 1, 1)),
        (datetime(2024, 1, 1, 0, 30, tzinfo=CHINA_TZ), date(2024, 1, 1)),  # still 2023 in UTC
        (datetime(2024, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))), date(2024, 1, 1)),
        (datetime(2024, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5))), date(2024, 1, 2)),
    ],
)
def test_today_is_china_date(instant: datetime, expected: date) -> None:
    assert SettableClock(instant).today() == expected


def test_set() -> None:
    clock = SettableClock(START)
    later = datetime(2025, 1, 1, tzinfo=UTC)
    clock.set(later)
    assert clock.now() == later
    earlier = datetime(2020, 1, 1, tzinfo=CHINA_TZ)
    clock.set(earlier)  # going back is allowed (auditor replays)
    assert clock.now() == earlier
    assert clock.now().tzinfo is UTC


def test_advance() -> None:
    clock = SettableClock(START)
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.advance(days=1) == START + timedelta(days=1, hours=2)
    assert clock.advance(timedelta(minutes=1), seconds=30) == START + timedelta(days=1, hours=2, minutes=1, seconds=30)
    assert clock.advance() == clock.now()
    assert clock.now() == START + timedelta(days=1, hours=2, minutes=1, seconds=30)


def test_advance_changes_today_across_china_midnight() -> None:
    clock = SettableClock(datetime(2024, 6, 30, 23, 30, tzinfo=CHINA_TZ))
    assert clock.today() == date(2024, 6, 30)
    clock.advance(minutes=30)
    assert clock.today() == date(2024, 7, 1)


@pytest.mark.parametrize("bad", [1, "1h", 3600.0])
def test_advance_rejects_non_timedelta(bad: object) -> None:
    clock = SettableClock(START)
    with pytest.raises(TypeError):
        clock.advance(bad)  # type: ignore[arg-type]
    assert clock.now() == START


def test_advance_rejects_unknown_unit() -> None:
    clock = SettableClock(START)
    with pytest.raises(TypeError):
        clock.advance(fortnights=1)  # type: ignore[arg-type]
    assert clock.now() == START


def test_rejects_naive_datetimes() -> None:
    naive = datetime(2024, 6, 30, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        SettableClock(naive)
    clock = SettableClock(START)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(naive)
    assert clock.now() == START


@pytest.mark.parametrize("bad", [date(2024, 6, 30), "2024-06-30T09:00:00+08:00", None, 0])
def test_rejects_non_datetimes(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a datetime"):
        SettableClock(bad)  # type: ignore[arg-type]


def test_advance_is_thread_safe() -> None:
    clock = SettableClock(START)

    def work() -> None:
        for _ in range(1000):
            clock.advance(seconds=1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == START + timedelta(seconds=8000)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_clock_from_env_system(value: str | None) -> None:
    assert isinstance(clock_from_env(value), SystemClock)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-30T09:00:00+08:00", START),
        ("2024-06-30T01:00:00Z", START),
        ("2024-06-30T01:00:00+00:00", START),
        ("2024-06-30 09:00+08:00", START),
        (" 2024-06-30T01:00:00Z\n", START),
    ],
)
def test_clock_from_env_settable(value: str, expected: datetime) -> None:
    clock = clock_from_env(value)
    assert isinstance(clock, SettableClock)
    assert clock.now() == expected
    assert clock.today() == date(2024, 6, 30)


@pytest.mark.parametrize("value", ["2024-06-30T09:00:00", "2024-06-30"])
def test_clock_from_env_rejects_naive(value: str) -> None:
    with pytest.raises(ValueError, match="must include a UTC offset"):
        clock_from_env(value)


@pytest.mark.parametrize("value", ["now", "yesterday", "2024-13-01T00:00:00Z", "1719709200", "30/06/2024"])
def test_clock_from_env_rejects_garbage(value: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 datetime"):
        clock_from_env(value)
