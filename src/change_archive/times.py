"""The one reader of the times and durations every command takes (--since, --until, --as-of,
--lateness): ``now``, a duration back (``90s``, ``15m``, ``-2h``, ``1d``) or an ISO-8601 time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

_DURATION: Final = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` (a leading ``-`` is allowed and ignored) → a timedelta.
    Raises ValueError naming the accepted forms, also for one too long to be a timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration (90s, 15m, 2h, 1d)")
    amount, unit = match.groups()
    try:
        return timedelta(seconds=float(amount) * _UNIT_SECONDS[unit])
    except OverflowError:  # past timedelta's 999,999,999 days
        raise ValueError(f"{text!r} is too long a duration") from None


def parse_time(text: str, *, now: datetime) -> datetime:
    """``now``, a duration back from ``now`` or an ISO-8601 time (naive means UTC) → an aware
    time. Raises ValueError naming the accepted forms, or when the time would fall before year 1."""
    text = text.strip()
    if text.lower() == "now":
        return now
    if _DURATION.match(text):
        duration = parse_duration(text)
        try:
            return now - duration
        except OverflowError:
            raise ValueError(f"{text!r} reaches back before the year 1") from None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither now, a duration back (90s, 15m, -2h, 1d) nor an ISO-8601 time"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
