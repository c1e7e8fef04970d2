"""Catalog time: integer microseconds since the Unix epoch (UTC).

Every time the catalog stores is such an integer: portable across SQLite and PostgreSQL, exact for cursor
pagination (no float rounding, no driver timezone handling). These three functions are the only
conversions; every module that needs one imports it from here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    """The current time as integer microseconds since the epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the epoch (exact, no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """The timezone-aware (UTC) datetime of integer microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=us)
