"""Statements are compiled and planned once, not on every run (see ``app.core.db``).

- SQLAlchemy cannot cache ``INSERT … ON CONFLICT`` (either dialect): ``run_prepared`` runs such a
  statement as its SQL compiled once, with the same bound values and types.
- psycopg forgets every prepared statement at a ROLLBACK; the app's PostgreSQL connections end a
  transaction that only read with a COMMIT, so the server keeps its plans.
"""
from datetime import datetime

import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import CacheStats

from app.core.db import run_prepared
from app.core.once import FormSubmission
from app.extensions import db


def _claim_statement(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # endpoint: a fixed value (an anonymous bound parameter that carries it)
    return (insert(FormSubmission).values(token=bindparam("token"), user_id=bindparam("user_id"), endpoint="tes",
                                          claimed_at=bindparam("claimed_at"))
            .on_conflict_do_nothing(index_elements=["token"]).returning(FormSubmission.token))


def test_an_insert_on_conflict_is_compiled_once_and_keeps_its_values_and_types(app, make_user):
    user = make_user("staff", username="prep-user")
    hits = []
    with app.app_context():
        statement = _claim_statement(db.engine.dialect.name)

        def _seen(conn, cursor, sql, params, context, executemany):
            if sql.lstrip().startswith("INSERT INTO form_submission"):
                hits.append(context.cache_hit)

        event.listen(db.engine, "before_cursor_execute", _seen)
        try:
            at = datetime(2026, 12, 7, 9, 30, 0)  # no microseconds: stored as the app's DateTime stores it
            first = run_prepared(statement, {"token": "a" * 30, "user_id": user.id, "claimed_at": at}).scalar()
            again = run_prepared(statement, {"token": "a" * 30, "user_id": user.id, "claimed_at": at}).scalar()
            other = run_prepared(statement, {"token": "b" * 30, "user_id": user.id, "claimed_at": at}).scalar()
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", _seen)
        assert (first, again, other) == ("a" * 30, None, "b" * 30)  # ON CONFLICT DO NOTHING, RETURNING
        rows = db.session.execute(select(FormSubmission.token, FormSubmission.endpoint, FormSubmission.claimed_at)
                                  .order_by(FormSubmission.token)).all()
        assert [tuple(r) for r in rows] == [("a" * 30, "tes", at), ("b" * 30, "tes", at)]
        # The same rows are found by a comparison on the stored time (the value was stored as the type stores it).
        assert db.session.scalar(select(FormSubmission.token).where(FormSubmission.claimed_at == at).limit(1))
    assert hits[1:] == [CacheStats.CACHE_HIT] * 2, hits


@pytest.fixture
def pg_engine(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements only")
        yield db.engine


def _prepared_on(conn) -> int:
    return conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()


def test_a_connection_keeps_its_prepared_statements_after_transactions_that_only_read(pg_engine):
    with pg_engine.connect() as conn:
        for n in range(8):  # psycopg prepares a statement at its sixth run
            assert conn.execute(select(FormSubmission.token).where(FormSubmission.token == str(n))).first() is None
            conn.rollback()  # as every request ends: its session closed, its transaction rolled back
        assert _prepared_on(conn) >= 1
        conn.rollback()


def test_a_transaction_that_wrote_or_failed_is_still_rolled_back(pg_engine, make_user):
    user = make_user("staff", username="prep-writer")
    with pg_engine.connect() as conn:
        conn.execute(FormSubmission.__table__.insert().values(token="w" * 30, user_id=user.id, endpoint="tes",
                                                              claimed_at=datetime(2026, 12, 7)))
        conn.rollback()
        assert conn.execute(select(FormSubmission.token)).first() is None
        with pytest.raises(Exception):
            conn.exec_driver_sql("SELECT no_such_column FROM form_submission")
        conn.rollback()  # the failed transaction ends; the connection works on
        assert conn.execute(select(FormSubmission.token)).first() is None
        conn.rollback()
