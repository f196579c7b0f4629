"""Instants as the monitoring loop speaks them: ISO 8601 UTC to the second, windows on a cadence.

Times always come from the caller (a schedule's ``time``, a request's ``now``), never the wall
clock, so an accelerated clock (the demo, the tests) works unchanged.

>>> iso(window_end(parse_time("2026-03-02T12:07:31.5Z"), 60))
'2026-03-02T12:00:00Z'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lockgate.errors import InvalidRequestError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: str | datetime) -> datetime:
    """An ISO 8601 instant (``Z`` or offset) as an aware UTC datetime, truncated to the second."""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidRequestError(f"not an ISO 8601 time: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def iso(dt: datetime) -> str:
    """The one spelling of an instant in keys, records and reports (``2026-03-02T12:00:00Z``)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_end(now: datetime, cadence_minutes: int) -> datetime:
    """The latest multiple of the cadence (counted from the Unix epoch) at or before ``now``."""
    step = cadence_minutes * 60
    seconds = int((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=seconds - seconds % step)


def dates(start: datetime, end: datetime) -> list[str]:
    """Every calendar day (``YYYY-MM-DD``) from ``start`` to ``end`` inclusive: the log partitions to read."""
    day, last, out = start.date(), end.date(), []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out
