"""Audit log: who changed what, when, with the before/after of each changed field.

Services call :func:`record` inside the request's transaction, so the log entry is committed
together with the change it describes (or not at all).
"""
from datetime import date, datetime
from decimal import Decimal

from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, bindparam, insert, inspect
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .db import run_prepared
from .scoping import Scope, kecamatan_clause
from .timeutil import utcnow

SECRET_FIELDS = {"password_hash", "session_token"}


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_kecamatan_at", "kecamatan_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("kecamatan.id"))
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict | None] = mapped_column(JSON)

    user = db.relationship("User", lazy="joined")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def changes_of(obj) -> dict:
    """Before/after of every column changed on ``obj`` since it was loaded (not yet flushed)."""
    state = inspect(obj)
    result = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        before = hist.deleted[0] if hist.deleted else None
        after = hist.added[0] if hist.added else None
        if before == after:
            continue
        if attr.key in SECRET_FIELDS:
            result[attr.key] = {"before": "•••", "after": "•••"}
        else:
            result[attr.key] = {"before": _plain(before), "after": _plain(after)}
    return result


_INSERT = insert(AuditLog).values({name: bindparam(name) for name in (
    "at", "action", "entity_type", "entity_id", "kecamatan_id", "user_id", "summary", "changes")})


def record(action: str, obj=None, *, changes: dict | None = None, summary: str = "",
           entity_type: str | None = None, entity_id: int | None = None,
           kecamatan_id: int | None = None, user_id: int | None = None) -> None:
    """Write an audit entry in the request's transaction (flushes ``obj`` first so it has an id):
    one prepared INSERT, after the session's pending changes, without the ORM's unit of work."""
    if obj is not None:
        if changes is None:
            changes = changes_of(obj)
        if getattr(obj, "id", None) is None:
            db.session.flush()
        entity_type = entity_type or obj.__tablename__
        entity_id = entity_id if entity_id is not None else obj.id
        if kecamatan_id is None:
            kecamatan_id = getattr(obj, "kecamatan_id", None)
    if user_id is None and current_user and getattr(current_user, "is_authenticated", False):
        user_id = current_user.id
    run_prepared(_INSERT, {"at": utcnow(), "action": action, "entity_type": entity_type or "-",
                           "entity_id": entity_id, "kecamatan_id": kecamatan_id, "user_id": user_id,
                           "summary": summary[:300], "changes": changes or None})


def snapshot(obj) -> dict:
    """Column values of ``obj`` now; pair with :func:`diff` after applying an edit."""
    mapper = inspect(obj).mapper
    return {attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs}


def diff(before: dict, obj) -> dict:
    """Fields of ``obj`` that differ from ``before``, as before/after pairs (secrets hidden)."""
    result = {}
    for key, old in before.items():
        new = getattr(obj, key)
        if old == new:
            continue
        if key in SECRET_FIELDS:
            result[key] = {"before": "•••", "after": "•••"}
        else:
            result[key] = {"before": _plain(old), "after": _plain(new)}
    return result
