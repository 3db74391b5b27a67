"""The participant search: any part of a name or a business name, served by a trigram index on both
databases (pg_trgm on PostgreSQL, FTS5 trigram on SQLite), kept in step by the database."""
from flask_login import login_user
from sqlalchemy import select, text, update

from app.extensions import db
from app.participants.models import Participant, name_key
from app.participants.queries import participant_query
from app.participants.search import text_clause


def test_any_part_of_a_name_or_business_name_is_found(app, make_participant, make_user):
    admin = make_user("admin")
    make_participant(name="Siti Aminah", business_name="Warung Siti")
    make_participant(name="Budiman Santoso", business_name="Bakso Pak Budi")
    make_participant(name="Ani Wijaya", business_name="Kue Basah Ani")
    with app.test_request_context():
        login_user(db.session.merge(admin))

        def names(term):
            return sorted(p.name for p in db.session.scalars(participant_query({"q": term})).unique())

        assert names("aminah") == ["Siti Aminah"]
        assert names("DIMAN") == ["Budiman Santoso"]          # inside a word, any case
        assert names("bakso") == ["Budiman Santoso"]          # the business name
        assert names("kue bas") == ["Ani Wijaya"]             # across a space
        assert names("an") == ["Ani Wijaya"]                  # short: name starts only
        assert names("xyz") == []


def test_the_index_follows_inserts_updates_and_deletes(app, make_participant):
    pid = make_participant(name="Rina Kurniasih", business_name="Jamu Rina")
    with app.app_context():
        def ids(term):
            return list(db.session.scalars(select(Participant.id).where(text_clause(term))))

        assert ids("kurnia") == [pid]
        db.session.execute(update(Participant).where(Participant.id == pid).values(
            name="Rina Lestari", name_key=name_key("Rina Lestari"), business_name="Batik Rina"))
        db.session.commit()
        assert ids("kurnia") == [] and ids("lestari") == [pid] and ids("batik") == [pid] and ids("jamu") == []
        db.session.execute(text("DELETE FROM participant_step WHERE participant_id = :id"), {"id": pid})
        db.session.execute(text("DELETE FROM participant WHERE id = :id"), {"id": pid})
        db.session.commit()
        assert ids("lestari") == []


def test_the_search_is_served_by_the_index(app, make_participant):
    make_participant(name="Dewi Sartika", business_name="Warung Dewi")
    with app.app_context():
        stmt = select(Participant.id).where(text_clause("sartika"))
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and "participant_search" in plan, plan
        else:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_participant_search_trgm" in plan, plan
        db.session.rollback()


def test_every_screen_that_searches_participants_finds_the_matches_before_sorting_them():
    """A search with an order and a limit must take its ids through ids_in_order: otherwise
    PostgreSQL's planner may walk the order's index through the whole table (2.6 s at 1,000,000 for
    the bazaar's search of a name). Every function that builds a search takes them so (the list's
    own conditions, ``_conditions``, reach the screen through participant_ids)."""
    import ast
    from pathlib import Path

    app_dir = Path(__file__).resolve().parent.parent / "app"
    searching, missing = [], []
    for path in app_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            called = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if "search_clause" in called and node.name != "_conditions":
                searching.append(node.name)
                if "ids_in_order" not in called:
                    missing.append(f"{path.relative_to(app_dir)}:{node.name}")
    assert len(searching) >= 5 and missing == []


def test_sqlite_plans_a_search_by_its_index_once_the_worker_has_gathered_statistics(app):
    """Without statistics SQLite's planner takes ``status = 'active'`` (most of the table) as
    selective and walks that index instead of the search index; the worker's hourly task gathers
    them, and the same search is then planned from the search index."""
    from app.jobs.tasks import planner_statistics
    from app.participants.queries import search_clause

    from tests.test_reports import Person, insert_people, kelurahan_of

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL's autovacuum keeps its statistics
        kel, kec = kelurahan_of(kecamatan_code="31.74.01")[0]
        insert_people([Person(kel, kec, name=f"Budi Santoso {i}") for i in range(400)]
                      + [Person(kel, kec, name=f"Rina Permata {i}") for i in range(12)])
        stmt = (select(Participant.id).where(search_clause("rina permata"), Participant.status == "active")
                .order_by(Participant.name_key).limit(20))
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        db.session.remove()
    planner_statistics.call_local()  # what the worker runs every hour
    with app.app_context():
        plan = " | ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        found = db.session.scalars(select(Participant.id).where(search_clause("rina permata"))).all()
    assert "participant_search" in plan and "ix_participant_status" not in plan, plan
    assert len(found) == 12
