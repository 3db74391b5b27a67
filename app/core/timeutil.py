"""Time helpers. Timestamps are stored as naive UTC; screens show Western Indonesia Time (WIB)."""
from datetime import date, datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")


def utcnow() -> datetime:
    """Naive UTC now, computed per call (never at import time)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_wib(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(WIB)


def today_wib() -> date:
    return datetime.now(WIB).date()
