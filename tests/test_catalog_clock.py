"""Catalog time: integer microseconds since the Unix epoch, exact both ways, whatever the time zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from picstore.catalog.clock import from_us, now_us, to_us

# 2026-01-02 03:04:05.678901 UTC, worked out by hand: 20455 days, 11045 s, 678901 us after the epoch.
MOMENT_US = (20455 * 86400 + 3 * 3600 + 4 * 60 + 5) * 1_000_000 + 678901


@pytest.mark.parametrize(
    ("moment", "us"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), -1),
        (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), MOMENT_US),
        # The same instant written in another zone is the same number.
        (datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))), MOMENT_US),
    ],
)
def test_to_us_and_from_us_are_exact_inverses(moment: datetime, us: int) -> None:
    converted = to_us(moment)
    assert converted == us and type(converted) is int
    back = from_us(us)
    assert back == moment and back.utcoffset() == timedelta(0)


def test_a_microsecond_more_is_one_more() -> None:
    # Beyond 2**53 a float could not tell these apart; integers must.
    far = datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC)
    assert to_us(far + timedelta(microseconds=1)) - to_us(far) == 1
    assert from_us(to_us(far) + 1) - far == timedelta(microseconds=1)


def test_now_us_is_the_wall_clock_in_integer_microseconds() -> None:
    before = time.time_ns() // 1000
    now = now_us()
    after = time.time_ns() // 1000
    assert type(now) is int
    assert before <= now <= after
    assert abs(from_us(now) - datetime.now(UTC)) < timedelta(seconds=5)
