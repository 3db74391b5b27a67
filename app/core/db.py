"""Database engine tuning shared by all models."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL journal, and every transaction started with BEGIN IMMEDIATE.

SQLite allows one writer at a time. Taking the write lock when a transaction starts (and
waiting up to the busy timeout for it) makes concurrent requests queue instead of failing
with "database is locked" when a reader later tries to write. A kecamatan office's
transactions are short, so serialising them costs little; PostgreSQL uses row locks instead.
"""
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
        conn.exec_driver_sql("BEGIN IMMEDIATE")
