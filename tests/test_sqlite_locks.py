"""SQLite's one write lock is taken only by transactions that write (see ``app.core.db``).

A reading request (a page, a PDF, an export) must never make another desk's registration wait;
a writing request holds the lock from its first statement, so its checks and its inserts are
never overtaken; a reading request that writes at the end (an audit entry) gets the lock then,
even when another request wrote in between.
"""
import fcntl
import os
import sqlite3
import threading

import pytest
from sqlalchemy import func, inspect, select

from app.core import audit
from app.core.audit import AuditLog
from app.core.db import TakingTurns, _begin_immediate, commit_then_read, enter_view
from app.extensions import db


@pytest.fixture
def sqlite_file(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock only")
        return db.engine.url.database


def other_desk(path: str) -> sqlite3.Connection:
    """A second connection that does not wait for the lock: it fails at once if someone holds it."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    return conn


def test_a_reading_request_leaves_the_write_lock_free(app, sqlite_file):
    desk = other_desk(sqlite_file)
    with app.test_request_context("/peserta", method="GET"):
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0  # the transaction is open
        desk.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if the read held the lock
        desk.execute("ROLLBACK")
        db.session.rollback()
    desk.close()


def test_a_writing_view_holds_the_lock_from_its_first_read_not_before(app, sqlite_file):
    """The framework's reads before the view (the stored session, the user) leave the lock free;
    from the view's turn (core.db.enter_view, the last hook before every view) the request holds
    it, so the view's checks and inserts are never overtaken."""
    assert app.before_request_funcs[None][-1] is enter_view
    desk = other_desk(sqlite_file)
    with app.test_request_context("/peserta/daftar", method="POST"):
        db.session.scalar(select(func.count()).select_from(AuditLog))  # as the session and the user are read
        desk.execute("BEGIN IMMEDIATE")  # free
        desk.execute("ROLLBACK")
        enter_view()
        db.session.scalar(select(func.count()).select_from(AuditLog))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            desk.execute("BEGIN IMMEDIATE")
        db.session.rollback()
    desk.execute("BEGIN IMMEDIATE")  # released with the transaction
    desk.execute("ROLLBACK")
    desk.close()


def test_a_post_that_only_reads_leaves_the_lock_free(app, sqlite_file):
    """The live NIK check (a POST marked reads_only) never makes a registration wait."""
    desk = other_desk(sqlite_file)
    with app.test_request_context("/peserta/cek-nik", method="POST"):
        enter_view()
        db.session.scalar(select(func.count()).select_from(AuditLog))
        desk.execute("BEGIN IMMEDIATE")
        desk.execute("ROLLBACK")
        db.session.rollback()
    desk.close()


def test_after_its_deciding_commit_a_request_renders_without_the_lock_and_without_reloading(app, sqlite_file):
    desk = other_desk(sqlite_file)
    with app.test_request_context("/peserta/daftar", method="POST"):
        enter_view()
        entry = AuditLog(action="test.decided", entity_type="test", summary="diputuskan")  # an object it wrote
        db.session.add(entry)
        db.session.flush()
        commit_then_read()
        assert not inspect(entry).expired_attributes  # what was committed stays loaded
        assert entry.summary == "diputuskan"
        db.session.scalar(select(func.count()).select_from(AuditLog))  # the answer's reads
        desk.execute("BEGIN IMMEDIATE")  # free while the answer is rendered
        desk.execute("ROLLBACK")
        audit.record("test.after", entity_type="test", summary="sesudahnya")  # a later write takes it
        db.session.flush()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            desk.execute("BEGIN IMMEDIATE")
        db.session.commit()
        assert sorted(db.session.scalars(select(AuditLog.action))) == ["test.after", "test.decided"]
    desk.close()


def test_a_reading_request_that_writes_after_another_desk_wrote_still_saves(app, sqlite_file):
    desk = other_desk(sqlite_file)
    with app.test_request_context("/peserta/kartu.pdf", method="GET"):
        db.session.scalar(select(func.count()).select_from(AuditLog))  # the read snapshot starts here
        desk.execute("BEGIN IMMEDIATE")
        desk.execute("INSERT INTO audit_log (action, entity_type, summary, at) "
                      "VALUES ('test.other_desk', 'test', '', '2026-12-03 00:00:00')")
        desk.execute("COMMIT")
        # Upgrading the stale read transaction in place would fail with "database is locked".
        audit.record("document.cards", entity_type="participant", summary="Cetak kartu")
        db.session.commit()
        actions = sorted(db.session.scalars(select(AuditLog.action)))
    desk.close()
    assert actions == ["document.cards", "test.other_desk"]


# --- Writers take turns (core.db.TakingTurns) -------------------------------------------------

def _turn_is_free(path: str) -> bool:
    fd = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_writing_transaction_holds_the_turn_until_it_ends_and_a_reading_one_never_takes_it(app, sqlite_file):
    with app.test_request_context("/peserta", method="GET"):
        db.session.scalar(select(func.count()).select_from(AuditLog))
        assert _turn_is_free(sqlite_file)
        db.session.rollback()
    with app.test_request_context("/peserta/daftar", method="POST"):
        enter_view()
        db.session.scalar(select(func.count()).select_from(AuditLog))
        assert not _turn_is_free(sqlite_file)
        db.session.commit()
        assert _turn_is_free(sqlite_file)
        audit.record("test.turn", entity_type="test", summary="")
        db.session.flush()
        assert not _turn_is_free(sqlite_file)
        db.session.rollback()
        assert _turn_is_free(sqlite_file)


def test_a_second_writer_waits_for_its_turn_instead_of_meeting_sqlites_lock(app, sqlite_file):
    """The second writer's SQLite busy timeout is 0: had it reached BEGIN IMMEDIATE while the first
    held the database, it would fail at once with "database is locked". It waits for its turn
    instead, and writes as soon as the first commits."""
    insert = ("INSERT INTO audit_log (action, entity_type, summary, at) "
              "VALUES ('test.turns', 'test', '', '2026-12-03 00:00:00')")
    first = sqlite3.connect(sqlite_file, factory=TakingTurns, isolation_level=None)
    second = sqlite3.connect(sqlite_file, factory=TakingTurns, isolation_level=None, check_same_thread=False)
    second.execute("PRAGMA busy_timeout=0")
    _begin_immediate(first, first.execute)
    first.execute(insert)
    done, errors = threading.Event(), []

    def write():
        try:
            _begin_immediate(second, second.execute)
            second.execute(insert)
            second.commit()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.5)  # waiting for its turn
    first.commit()
    assert done.wait(15)
    writer.join()
    assert errors == []
    assert first.execute("SELECT count(*) FROM audit_log WHERE action = 'test.turns'").fetchone()[0] == 2
    first.close()
    second.close()
