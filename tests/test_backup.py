"""``flask backup`` / ``flask restore``: consistent copies while the app writes, checked restores.

SQLite only by nature (PostgreSQL is refused with a pointer to pg_dump); each test works on its
own copy of a migrated database so that replacing it cannot disturb the other tests.
"""
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.auth.models import User
from app.auth.services import Wilayah, create_user
from app.extensions import db
from app.regions.services import load_regions

BATCH = 25  # rows per transaction of the concurrent writer


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """A database migrated to head with the regions loaded, built once for the module."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x"})
    with application.app_context():
        upgrade()
        load_regions()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # the last connection closes: the WAL is folded into the file
    return path


@pytest.fixture
def live(template_db, tmp_path):
    """(app, path of its database) on a fresh copy of the template."""
    path = tmp_path / "live.sqlite"
    shutil.copyfile(template_db, path)
    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x"})
    application.instance_path = str(tmp_path / "instance")
    yield application, path
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def run(application, *args, input=None):
    return application.test_cli_runner().invoke(args=list(args), input=input)


def dump(path) -> list[str]:
    """Every statement that rebuilds the database: equal dumps mean equal contents."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def scalar(path, sql: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def add_user(application, username: str) -> None:
    with application.app_context():
        create_user(username, username.title(), "admin", Wilayah("province"), password="rahasia-uji-2026",
                    must_change=False)
        db.session.commit()


def usernames(application) -> set[str]:
    with application.app_context():
        names = set(db.session.scalars(select(User.username)))
        db.session.remove()
        return names


def test_backup_default_name_mode_and_contents(live):
    application, path = live
    add_user(application, "sebelum")
    result = run(application, "backup")
    assert result.exit_code == 0, result.output
    written = re.search(r"Backup written: (\S+) ", result.output).group(1)
    assert re.search(r"instance/backups/okoce-\d{8}-\d{6}\.sqlite$", written)
    backup = Path(written)
    assert backup.stat().st_mode & 0o777 == 0o600  # personal data: owner only
    assert scalar(backup, "PRAGMA integrity_check") == "ok"
    assert scalar(backup, "PRAGMA journal_mode") == "delete"  # one self-contained file
    assert scalar(backup, "SELECT username FROM app_user") == "sebelum"
    assert dump(backup) == dump(path)
    second = run(application, "backup")
    assert second.exit_code == 0 and written not in second.output  # a new name, nothing overwritten


def test_backup_leaves_out_an_open_transaction(live, tmp_path):
    """Taken while another connection holds an uncommitted write: not blocked, and none of it copied."""
    application, path = live
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.executemany("INSERT INTO audit_log (at, action, entity_type, summary) VALUES "
                           "('2026-01-01 00:00:00', 'uji.tulis', 'uji', ?)", [(str(i),) for i in range(10)])
        during = run(application, "backup", str(tmp_path / "during.sqlite"))
        writer.execute("COMMIT")
    finally:
        writer.close()
    after = run(application, "backup", str(tmp_path / "after.sqlite"))
    assert during.exit_code == 0 and after.exit_code == 0, during.output + after.output
    count = "SELECT count(*) FROM audit_log WHERE action = 'uji.tulis'"
    assert scalar(tmp_path / "during.sqlite", count) == 0
    assert scalar(tmp_path / "after.sqlite", count) == 10


def test_backup_while_a_second_connection_writes(live, tmp_path):
    """Backups taken during a stream of multi-row transactions hold whole transactions only."""
    application, path = live
    stop, committed, failures = threading.Event(), [0], []

    def write():
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                for i in range(BATCH):
                    conn.execute("INSERT INTO audit_log (at, action, entity_type, summary) VALUES "
                                 "('2026-01-01 00:00:00', 'uji.tulis', 'uji', ?)", (f"{committed[0]}-{i}",))
                    if i == BATCH // 2:
                        time.sleep(0.001)  # the transaction stays open a while, half written
                conn.execute("COMMIT")
                committed[0] += 1
        except Exception as err:  # pragma: no cover - reported below
            failures.append(err)
        finally:
            conn.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while committed[0] < 3:
            time.sleep(0.01)
        outputs = [run(application, "backup", str(tmp_path / f"b{n}.sqlite")) for n in range(5)]
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert all(o.exit_code == 0 for o in outputs), [o.output for o in outputs]
    counts = [scalar(tmp_path / f"b{n}.sqlite", "SELECT count(*) FROM audit_log WHERE action = 'uji.tulis'")
              for n in range(5)]
    assert counts[-1] >= 3 * BATCH
    assert all(c % BATCH == 0 for c in counts), counts  # never half a transaction
    assert counts == sorted(counts) and counts[-1] <= committed[0] * BATCH
    for n in range(5):
        assert scalar(tmp_path / f"b{n}.sqlite", "PRAGMA integrity_check") == "ok"


def test_backup_refuses_an_existing_file(live, tmp_path):
    application, _ = live
    target = tmp_path / "taken.sqlite"
    target.write_bytes(b"keep me")
    result = run(application, "backup", str(target))
    assert result.exit_code == 1 and "already exists" in result.output
    assert target.read_bytes() == b"keep me"


def test_restore_brings_the_data_back(live, tmp_path):
    application, path = live
    add_user(application, "sebelum")
    assert run(application, "backup", str(tmp_path / "saved.sqlite")).exit_code == 0
    add_user(application, "sesudah")
    with application.app_context():
        db.session.delete(db.session.scalars(select(User).where(User.username == "sebelum")).one())
        db.session.commit()
    assert usernames(application) == {"sesudah"}

    refused = run(application, "restore", str(tmp_path / "saved.sqlite"), input="n\n")
    assert refused.exit_code == 1 and usernames(application) == {"sesudah"}  # asked, and answered no

    result = run(application, "restore", "--yes", str(tmp_path / "saved.sqlite"))
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output and "flask db upgrade" not in result.output  # already at head
    assert usernames(application) == {"sebelum"}
    assert scalar(path, "PRAGMA integrity_check") == "ok"
    previous = re.search(r"saved as (\S+)\.\n", result.output).group(1)
    assert "instance/backups/okoce-before-restore-" in previous
    assert scalar(previous, "SELECT group_concat(username) FROM app_user") == "sesudah"
    add_user(application, "lanjut")  # the app goes on writing to the restored database
    assert usernames(application) == {"sebelum", "lanjut"}


def _not_sqlite(_good, path):
    path.write_bytes(b"NIK,Nama\n3174011708859901,Budi\n")


def _empty(_good, path):
    path.write_bytes(b"")


def _truncated(good, path):
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _corrupt(good, path):
    data = bytearray(good.read_bytes())
    for page in range(4, len(data) // 4096):
        data[page * 4096 + 8: page * 4096 + 200] = b"\xa5" * 192  # smash every b-tree page's cells
    path.write_bytes(bytes(data))


def _index_mismatch(good, path):
    """Opens and reads fine; only the integrity check sees that an index no longer matches its table."""
    shutil.copyfile(good, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX ix_kelurahan_kecamatan_id ON kelurahan (name)' "
                 "WHERE name = 'ix_kelurahan_kecamatan_id'")
    conn.commit()
    conn.close()


def _foreign(_good, path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE catatan (id INTEGER PRIMARY KEY, isi TEXT)")
    conn.commit()
    conn.close()


def _unknown_revision(good, path):
    shutil.copyfile(good, path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = 'deadbeef0000'")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make,message", [
    (_not_sqlite, "is not a SQLite database"),
    (_empty, "is not a SQLite database"),
    (_truncated, "database disk image is malformed"),
    (_corrupt, "database disk image is malformed"),
    (_index_mismatch, "failed SQLite's integrity check: row 1 missing from index ix_kelurahan_kecamatan_id"),
    (_foreign, "has no alembic_version table"),
    (_unknown_revision, "'deadbeef0000', which is not a migration of this app"),
])
def test_restore_refuses_a_bad_file_and_changes_nothing(live, tmp_path, make, message):
    application, path = live
    add_user(application, "tetap")
    good = tmp_path / "good.sqlite"
    assert run(application, "backup", str(good)).exit_code == 0
    bad = tmp_path / "bad.sqlite"
    make(good, bad)
    before = dump(path)
    result = run(application, "restore", "--yes", str(bad))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output
    assert dump(path) == before and usernames(application) == {"tetap"}
    assert not (tmp_path / "instance" / "backups").exists()  # not even a "before restore" copy was needed


def test_restore_refuses_the_live_database_itself(live):
    application, path = live
    result = run(application, "restore", "--yes", str(path))
    assert result.exit_code == 1 and "live database itself" in result.output


def test_postgresql_is_refused_with_pg_dump_hint(tmp_path):
    application = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://okoce@127.0.0.1:1/okoce",
                              "SECRET_KEY": "x"})
    application.instance_path = str(tmp_path)
    (tmp_path / "x.sqlite").write_bytes(b"")
    for args in (["backup"], ["restore", "--yes", str(tmp_path / "x.sqlite")]):
        result = run(application, *args)
        assert result.exit_code == 1 and "pg_dump -Fc" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "backups").exists()
