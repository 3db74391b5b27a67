"""Failed logins counted per account, whatever the address they come from.

The counts live in the rate limiter's storage (Redis in production), so every worker and
every app server sees the same numbers. The key is the user name as typed, so an unknown
name is throttled exactly like a known one and the lock reveals nothing about who exists.
A successful login clears the account's counts.
"""
from datetime import datetime, timezone

from flask import current_app
from limits import parse_many

from ..extensions import limiter

NAMESPACE = "login-account"


def _limits():
    return parse_many(current_app.config["LOGIN_ACCOUNT_LIMIT"])


def _key(username: str) -> str:
    return (username or "").strip().lower()[:40]


def locked_until(username: str) -> datetime | None:
    """When the account may try again, if its failures have reached a limit (UTC)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    reset = None
    for limit in _limits():
        if not limiter.limiter.test(limit, NAMESPACE, _key(username)):
            stats = limiter.limiter.get_window_stats(limit, NAMESPACE, _key(username))
            reset = max(reset or 0, stats.reset_time)
    return datetime.fromtimestamp(reset, timezone.utc) if reset else None


def note_failure(username: str) -> datetime | None:
    """Count one failed attempt; returns the lock's end when *this* failure reached a limit.

    The count is the one this request's own increment returned (one atomic INCR in the shared
    storage, the fixed window the limiter keeps), so failures arriving at once are numbered
    1, 2, 3 … and exactly the one that reaches the limit and those after it see the lock.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None  # no limits, no locks (as locked_until says)
    reset = None
    for limit in _limits():
        count = limiter.limiter.storage.incr(limit.key_for(NAMESPACE, _key(username)), limit.get_expiry())
        if count >= limit.amount:
            stats = limiter.limiter.get_window_stats(limit, NAMESPACE, _key(username))
            reset = max(reset or 0, stats.reset_time)
    return datetime.fromtimestamp(reset, timezone.utc) if reset else None


def clear(username: str) -> None:
    for limit in _limits():
        limiter.limiter.clear(limit, NAMESPACE, _key(username))
