"""Rosters in step on several devices and through a lost connection: the server side of
roster-sync.js, shared by every kind of roster (a meeting's, an event's).

- **Revisions.** The roster's owner row (a meeting, an event) has a ``revision`` counter and a
  ``reset_revision``. Every mark takes the next number with the owner row locked
  (:func:`next_revision`), so the writers of one roster take turns; the changed row carries that
  number. A screen polls "what changed since n" (:func:`poll_answer`); a change that adds, removes
  or reorders rows sets ``reset_revision`` and screens older than it reload.
- **The later mark by time wins.** A mark carries the time it was made on the device
  (:func:`device_time`, clamped by :func:`mark_time`); :func:`write_if_later` writes it only when
  it is not older than the standing one, in one statement. A mark that loses raises
  :class:`MarkSuperseded` after its domain has audited it as ``attendance.superseded``.
- **A mark id once.** The device's mark id is the form's one-time token (core.once): a mark id
  sent again is answered with the row as it stands (``answered_again``); :func:`settle` ends a
  mark's transaction by its outcome.
"""
from datetime import datetime, timedelta, timezone
from functools import cache

from flask import Response
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from .checkin import SUPERSEDED
from .db import commit_then_read, run_prepared
from .errors import DomainError
from .timeutil import utcnow

SUPERSEDED_ACTION = "attendance.superseded"


class MarkSuperseded(DomainError):
    """A mark older than the one standing (by the time each was made): not applied, but kept in
    the audit (so the outcome is accepted and committed, unlike other refusals)."""

    def __init__(self, standing):
        super().__init__("Sudah ada tanda yang lebih baru.", code="superseded")
        self.standing = standing


def device_time(value: str | None) -> datetime | None:
    """A mark's time as the device sent it (milliseconds since 1970), as naive UTC; None if absent or bad."""
    if not value or not value.isdigit() or len(value) > 15:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def mark_time(at: datetime | None) -> datetime:
    """When a mark was made: the device's time (a mark made offline arrives later), never later
    than now nor more than a day ago; now when the device said nothing."""
    now = utcnow()
    return now if at is None else min(now, max(at, now - timedelta(days=1)))


@cache
def _revision_statement(model):
    return (update(model).where(model.id == bindparam("owner_id")).values(revision=model.revision + 1)
            .returning(model.revision).execution_options(synchronize_session=False))


def next_revision(owner) -> int:
    """The roster owner's (a meeting's, an event's) next revision number. Its row stays locked to
    the end of the transaction, so the writers of one roster take turns (each takes it before
    touching any mark)."""
    revision = run_prepared(_revision_statement(type(owner)), {"owner_id": owner.id}).scalar_one()
    set_committed_value(owner, "revision", revision)  # the loaded row says what the database holds
    return revision


@cache
def _mark_statement(model, key: tuple, names: tuple, create: bool, when: str, dialect: str):
    """The statement of :func:`write_if_later`, built once per shape (SQLAlchemy then reuses its
    compiled form): the key's values are bound as ``k_<name>``, the written ones as ``v_<name>``."""
    column = getattr(model, when)
    if create:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(model).values({**{k: bindparam(f"k_{k}") for k in key}, **{k: bindparam(f"v_{k}") for k in names}})
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={k: stmt.excluded[k] for k in names},
                                          where=or_(column.is_(None), column <= stmt.excluded[when]))
    else:
        stmt = update(model).where(*(getattr(model, k) == bindparam(f"k_{k}") for k in key),
                                   or_(column.is_(None), column <= bindparam(f"v_{when}")))
        stmt = stmt.values({k: bindparam(f"v_{k}") for k in names})
    return stmt.returning(model.id).execution_options(synchronize_session=False)


def write_if_later(model, key: dict, values: dict, *, create: bool = True, when: str = "marked_at") -> int | None:
    """Write a mark into the row of ``model`` named by ``key`` unless the standing mark is newer
    (by its ``when`` column; a row never marked takes any). ``create``: insert the row when there
    is none (``key`` is then its unique key). Returns the row's id, or None when the mark lost."""
    stmt = _mark_statement(model, tuple(key), tuple(values), create, when, db.session.get_bind().dialect.name)
    params = {**{f"k_{k}": v for k, v in key.items()}, **{f"v_{k}": v for k, v in values.items()}}
    row_id = run_prepared(stmt, params).scalar()
    if row_id is not None:
        # The row, if this request has it loaded, says what was written (no reload needed).
        loaded = db.session.identity_map.get(db.session.identity_key(model, row_id))
        if loaded is not None:
            for name, value in values.items():
                set_committed_value(loaded, name, value)
    return row_id


def standing_row(model, key: dict):
    """The row named by ``key`` as the database now holds it (after a write that lost to it)."""
    return db.session.scalars(select(model).filter_by(**key).execution_options(populate_existing=True)).one()


def screen_current(owner, since: int | None) -> bool:
    """The screen's revision is one the server can answer changes for (no reset since)."""
    return since is not None and owner.reset_revision <= since <= owner.revision


def poll_answer(owner, since: int | None) -> Response | None:
    """A poll's answer when there is nothing to render: the screen reloads (older than a reset, or
    no revision), or 204 (nothing changed). None: render the rows changed since ``since``."""
    if not screen_current(owner, since):
        return Response("", headers={"HX-Refresh": "true"})
    if since == owner.revision:
        return Response(status=204)
    return None


def settle(outcome) -> tuple[str | None, str | None]:
    """End a mark's transaction by its outcome — commit what was accepted (what the request loaded
    stays loaded for its answer), roll back a refusal — and give its message as (error, notice): a
    mark that lost to a later one is a notice, not an error."""
    if outcome.accepted:
        commit_then_read()
    else:
        db.session.rollback()
    if outcome.kind == SUPERSEDED:
        return None, outcome.message
    return outcome.message, None
