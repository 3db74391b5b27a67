"""Database engine tuning shared by all models.

SQLite allows one writer at a time (readers never wait in WAL mode). A request that may write
(POST and the other unsafe methods, the CLI, background work) begins its transaction with
``BEGIN IMMEDIATE``: it waits up to the busy timeout for the write lock and then holds it, so a
check-then-insert can never be overtaken by another request and concurrent writers queue
instead of failing with "database is locked". A reading request (GET, HEAD, OPTIONS) begins
with a plain ``BEGIN`` and takes no lock at all, so pages, lists, PDFs and exports never make a
desk wait. When a reading request writes after all (the audit entry of a printed document, the
session's idle clock), the first write statement ends its read transaction and starts an
immediate one in its place (:func:`_take_write_lock`); a service that must read and then write
consistently in a GET calls :func:`write_lock_from_now` first. PostgreSQL uses row locks
instead and is not touched here.
"""
from contextlib import contextmanager

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")
_LOCKED = "sqlite_write_lock"  # key in Connection.info: this transaction holds the write lock
_READING = "sqlite_reading"  # key in g: the next transactions only read, whatever the method


def _reading_request() -> bool:
    if not has_request_context():
        return False
    if g.get(_READING, False):
        return True
    if request.method not in READING_METHODS:
        return False
    return not g.get(_LOCKED, False)


@contextmanager
def reading_only():
    """Transactions begun inside this block read without taking SQLite's write lock, also in a
    POST (e.g. a request waiting for another's answer must not stand in that request's way).
    A write inside the block still takes the lock at its first statement."""
    previous = g.get(_READING, False)
    setattr(g, _READING, True)
    try:
        yield
    finally:
        setattr(g, _READING, previous)


def write_lock_from_now() -> None:
    """Make the next transaction of this request begin with the write lock (SQLite).

    For a reading request that is about to read and then write rows another request may
    change (e.g. the stored session); call it after the request's earlier work was committed or
    rolled back. Harmless on PostgreSQL and in writing requests."""
    if has_app_context():
        setattr(g, _LOCKED, True)


def reads_from_now() -> None:
    """For a writing request that goes on to build a document after its deciding commit: the
    transactions that follow begin without SQLite's write lock (a write among them, such as the
    document's audit entry, takes it at its first statement), so rendering never makes another
    desk wait. Call it right after that commit."""
    if has_app_context():
        setattr(g, _READING, True)


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL journal, and the write lock taken only by transactions that write."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # pragma: no cover - exercised on every connect
        # Let SQLAlchemy emit BEGIN itself (see _begin) instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover
        reading = _reading_request()
        conn.info[_LOCKED] = True  # the BEGIN itself is not a write (see _take_write_lock)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
        conn.info[_LOCKED] = not reading

    @event.listens_for(engine, "before_cursor_execute")
    def _take_write_lock(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover
        """The first write of a reading transaction: end the reads, continue with the write lock.

        Upgrading a deferred transaction in place could fail at once with "database is locked"
        (another request wrote since its snapshot); a new immediate transaction waits its turn."""
        if conn.info.get(_LOCKED, True) or not conn.in_transaction():
            return
        if statement.lstrip()[:7].upper().startswith(_READ_STATEMENTS):
            return
        conn.info[_LOCKED] = True
        cursor.execute("COMMIT")
        cursor.execute("BEGIN IMMEDIATE")


def lock_row(model, row_id: int):
    """The row of ``model`` with this id, locked until the transaction ends (``SELECT … FOR
    UPDATE`` on PostgreSQL; on SQLite a writing transaction already holds the write lock).

    The one way a service makes concurrent requests about the same thing take turns: lock the
    row the rule is about (the course for its seats, the event for its booths, the participant
    for their open letter) *before* reading what the rule depends on."""
    from ..extensions import db  # the engine tuning above is imported before the models exist
    from sqlalchemy import select

    # populate_existing: an object this request loaded earlier is refreshed from the locked row,
    # so the rule is checked against what the request that went first has committed.
    return db.session.scalars(select(model).where(model.id == row_id).with_for_update()
                              .execution_options(populate_existing=True)).one()
