"""Time helpers. Timestamps are stored as naive UTC; screens show Western Indonesia Time (WIB).

Every date a person types or a URL carries lies in :data:`MIN_DATE`..:data:`MAX_DATE`: the date
fields and :func:`parse_date` refuse others, so date arithmetic (a week's Sunday, the day after
``sampai``) and the database never see year 1 or 9999.
"""
from datetime import date, datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)


def date_in_range(value: date | None) -> bool:
    return value is not None and MIN_DATE <= value <= MAX_DATE


def parse_date(text: str | None) -> date | None:
    """An ISO date (``2026-11-23``) within the sane range, else None (also for impossible dates)."""
    if not isinstance(text, str) or len(text.strip()) != 10:
        return None
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if date_in_range(value) else None


def utcnow() -> datetime:
    """Naive UTC now, computed per call (never at import time)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_wib(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(WIB)


def today_wib() -> date:
    return datetime.now(WIB).date()
