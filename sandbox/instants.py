"""Instants kept as epoch microseconds.

What the world keeps for every person or event must cost a few bytes: a datetime is 48
bytes (plus 8 for its slot in a tuple), an int64 in an array 8, and it converts back exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_REACHED = -1  # an instant that never happens (a stage not reached, never archived); every real one is after 1970


def epoch_us(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


def at_epoch_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
