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
instead (its connections only keep their prepared statements: :class:`KeepingPlans`).

The write lock is held for as short a time as the rules allow:
- What the framework reads before a writing request's view runs (the stored session, the
  logged-in user) is read without it; the lock is taken when the view's turn comes
  (:func:`enter_view`, the last hook before every view) or at the first write before that (the
  once-token's claim), so everything the view reads is read under it.
- A POST view that changes nothing (``core.once.reads_only``: a live check) reads without it.
- After its deciding commit, a request that only renders its answer reads without it
  (:func:`reads_from_now`, :func:`commit_then_read`).
"""
import copy
import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager

import psycopg
from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")
_LOCKED = "sqlite_write_lock"  # key in Connection.info: this transaction holds the write lock
_READING = "sqlite_reading"  # key in g: the next transactions only read, whatever the method
_VIEW = "sqlite_view"  # key in g: the view's turn has come (a writing request takes the lock from here)


def _reading_request() -> bool:
    if not has_request_context():
        return False
    if g.get(_READING, False):
        return True
    if g.get(_LOCKED, False):
        return False
    # A writing request reads the session and the user before its view without the lock.
    return request.method in READING_METHODS or not g.get(_VIEW, False)


def enter_view() -> None:
    """The last hook before every view: a writing request's view reads and writes under SQLite's
    write lock from its first statement (a transaction the framework began to read the session
    and the user goes on with the lock), unless the view is marked as reading only."""
    setattr(g, _VIEW, True)
    if request.method in READING_METHODS or g.get(_READING, False):
        return  # (reading already: a repeat answered again as a read, core.once.answered_again)
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "reads_only", False):
        setattr(g, _READING, True)
        return
    from ..extensions import db

    session = db.session()
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return  # the view's first statement begins its transaction with the lock
    connection = session.connection()
    if not connection.info.get(_LOCKED, True):
        _lock(connection, connection.connection.dbapi_connection.cursor())


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
        setattr(g, _READING, False)


def reads_from_now() -> None:
    """For a writing request that goes on to build a document after its deciding commit: the
    transactions that follow begin without SQLite's write lock (a write among them, such as the
    document's audit entry, takes it at its first statement), so rendering never makes another
    desk wait. Call it right after that commit."""
    if has_app_context():
        setattr(g, _READING, True)


def commit_then_read() -> None:
    """The deciding commit of a writing request that goes on only to read and render its answer
    (a roster tap's row and counters): what the request loaded stays loaded, since it is what was
    just committed (no reload of each object on its next use), and the transactions that follow
    read without SQLite's write lock (see :func:`reads_from_now`; the once-token's answer, stored
    last, takes it for its one statement). What a bulk statement changed must be in the loaded
    objects already (core.roster keeps them so); what a trigger changed (a participant's
    ``steps_mask``) is not, so the answer must not show it."""
    from ..extensions import db  # the engine tuning above is imported before the models exist

    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    reads_from_now()


def run_prepared(statement, params: dict):
    """Run a statement built once and kept (see core.roster, core.once, the roster's counters:
    SQLAlchemy then reuses its cache key and compiled form) on the session's connection, with its
    bound values: pending changes are flushed first, as the session would, without the ORM's work
    per statement. For a read of plain columns, or a write whose rows the request does not hold
    as loaded objects (or updates itself).

    A statement SQLAlchemy cannot cache (``INSERT … ON CONFLICT`` of either dialect: it would be
    compiled again on every run, ~1 ms each) runs as its SQL compiled once (:func:`_compiled_once`)."""
    from ..extensions import db

    db.session.flush()
    connection = db.session.connection()
    if statement._generate_cache_key() is None:
        statement = _compiled_once(statement, connection.dialect)
    return connection.execute(statement, params)


_COMPILED: dict = {}  # (statement, dialect name) -> its SQL as a cacheable text() with typed binds


def _compiled_once(statement, dialect):
    """``statement`` (kept by its caller, never changed) as a textual statement with the same SQL,
    bound parameters of the same names, types and fixed values, and the same result columns: a
    text() is cached by its SQL, so it is compiled once per process instead of once per run."""
    key = (statement, dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        from sqlalchemy import bindparam, text

        # The engine's dialect (the features it detected) writing binds as :name without casts
        # (the text() is compiled by the engine's dialect again, which adds its own).
        named = copy.copy(dialect)
        named.paramstyle, named.positional, named._bind_typing_render_casts = "named", False, False
        compiled = statement.compile(dialect=named)
        if any(bind.expanding or bind.literal_execute for bind in compiled.bind_names):
            raise ValueError("run_prepared: a statement that cannot be cached must not expand its bound values")
        binds = [bindparam(name, bind.value, type_=bind.type, required=bind.required)
                 for bind, name in compiled.bind_names.items()]
        found = text(compiled.string).bindparams(*binds)
        columns = getattr(statement, "exported_columns", ())
        if len(columns):
            found = found.columns(*columns)
        _COMPILED[key] = found
    return found


class TakingTurns(sqlite3.Connection):
    """A SQLite connection whose writing transactions take turns through a lock file beside the
    database (``<file>-writers``, ``flock``): a writer waits in the kernel and is woken the moment
    the one before it commits or rolls back. Without it, writers that find the database locked
    wait in SQLite's busy handler, which sleeps and tries again (1, 2, 5, … 100 ms) and serves no
    one in order: under a crowd of taps, seconds of waiting for some while the lock stood free.
    Every process of the app (web workers, the task worker, commands) takes turns; another program
    writing to the file still meets SQLite's own lock and busy timeout."""

    _holders: set[int] = set()  # the threads of this process holding a turn (through any connection)

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fsdecode(database)
        self._turns = None if name in ("", ":memory:") or name.startswith("file:") else f"{name}-writers"
        self._turn_fd = None
        self._holder = None  # the thread that took this connection's turn

    def take_turn(self) -> None:
        """Wait for this connection's turn to write (before its BEGIN IMMEDIATE)."""
        thread = threading.get_ident()
        if self._turns is None or self._holder is not None or thread in self._holders:
            return  # (a second writing connection of one thread would wait for itself: SQLite decides)
        if self._turn_fd is None:
            self._turn_fd = os.open(self._turns, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._turn_fd, fcntl.LOCK_EX)
        self._holder = thread
        self._holders.add(thread)

    def end_turn(self) -> None:
        if self._holder is not None:
            self._holders.discard(self._holder)
            self._holder = None
            fcntl.flock(self._turn_fd, fcntl.LOCK_UN)

    def commit(self):
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self):
        try:
            super().close()
        finally:
            self.end_turn()
            if self._turn_fd is not None:
                os.close(self._turn_fd)
                self._turn_fd = None


def _begin_immediate(dbapi_connection, run) -> None:
    """BEGIN IMMEDIATE in this connection's turn (see TakingTurns); the turn is given back if the
    BEGIN itself fails."""
    take = getattr(dbapi_connection, "take_turn", None)
    if take is not None:
        take()
    try:
        run("BEGIN IMMEDIATE")
    except BaseException:
        if take is not None:
            dbapi_connection.end_turn()
        raise


def sqlite_engine_options(uri: str, options: dict) -> dict:
    """The engine options for ``uri``: a SQLite file's connections take turns to write."""
    if not uri.startswith("sqlite"):
        return options
    return {**options, "connect_args": {**options.get("connect_args", {}), "factory": TakingTurns}}


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
        if reading:
            conn.exec_driver_sql("BEGIN")
        else:
            _begin_immediate(conn.connection.dbapi_connection, conn.exec_driver_sql)
        conn.info[_LOCKED] = not reading

    @event.listens_for(engine, "before_cursor_execute")
    def _take_write_lock(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover
        """The first write of a reading transaction: end the reads, continue with the write lock."""
        if conn.info.get(_LOCKED, True) or not conn.in_transaction():
            return
        if statement.lstrip()[:7].upper().startswith(_READ_STATEMENTS):
            return
        _lock(conn, cursor)


ANALYSIS_LIMIT = 1000  # index entries SQLite's ANALYZE samples per index: under a second at 1,000,000 participants


def refresh_planner_statistics() -> bool:
    """Gather the statistics SQLite's query planner chooses by (``sqlite_stat1``): without them it
    takes any equality on an indexed column as selective, so a search of active participants went
    through the index on ``status`` (90 % of the table) instead of the search index — 170 ms
    instead of 16 at 1,000,000. Sampled (``analysis_limit``), so it takes about a second at that
    size — a second of SQLite's write lock, once an hour; the worker runs it (``app.jobs.tasks``). PostgreSQL's autovacuum keeps its own
    statistics: nothing to do there (False)."""
    from sqlalchemy import text

    from ..extensions import db

    if db.session.get_bind().dialect.name != "sqlite":
        return False
    db.session.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return True


class KeepingPlans(psycopg.Connection):
    """A PostgreSQL connection that keeps its prepared statements from one transaction to the next.

    psycopg prepares a statement on the server once it has run it a few times on a connection
    (the server then plans it once, not on every run: the roster tap's scoped query took 4.5 ms to
    plan and 0.2 ms to run) — but forgets every prepared statement at each ROLLBACK (a rolled-back
    transaction may have changed the schema they depend on). The app ends every transaction that
    only read with a rollback (the session's close at the end of each request, the reads after a
    tap's deciding commit), so nothing stayed prepared and every statement was planned on every run.
    Here a transaction that only read (:func:`configure_postgresql` notes a statement that is not
    a SELECT) ends with COMMIT, which ends it the same way and keeps them; a transaction that
    wrote, or failed, is rolled back as before."""

    wrote = False  # this transaction ran a statement that may write

    def commit(self):
        try:
            super().commit()
        finally:
            self.wrote = False

    def rollback(self):
        try:
            if not self.wrote and self.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                super().commit()
            else:
                super().rollback()
        finally:
            self.wrote = False


def configure_postgresql(engine: Engine) -> None:
    """The app's PostgreSQL connections keep their prepared statements (see KeepingPlans)."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):  # pragma: no cover - exercised on every connect
        return KeepingPlans.connect(*cargs, **cparams)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(_conn, cursor, statement, parameters, context, executemany):  # pragma: no cover
        if not statement.lstrip()[:6].upper().startswith("SELECT"):
            connection = cursor.connection
            if isinstance(connection, KeepingPlans):
                connection.wrote = True


def _lock(conn, cursor) -> None:
    """End a reading transaction and go on in one that holds the write lock (what was loaded
    stays loaded: only the DBAPI connection's transaction changes).

    Upgrading a deferred transaction in place could fail at once with "database is locked"
    (another request wrote since its snapshot); a new immediate transaction waits its turn."""
    conn.info[_LOCKED] = True
    cursor.execute("COMMIT")
    _begin_immediate(cursor.connection, cursor.execute)


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
