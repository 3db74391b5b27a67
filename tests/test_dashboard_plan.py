"""The dashboard's "as of" correction reads a few days of steps, whatever the number of
participants (issue 17): its query is driven by the steps' date index, never by the participants of
the area. SQLite keeps no statistics, so its plan is fixed by the query's shape; measured at
1,000,000 participants the other join order cost ~1 s of CPU for a kota (bench/RESULTS.md)."""
from datetime import date

from sqlalchemy import select

from app.core.scoping import Scope
from app.extensions import db
from app.regions.models import Kota
from app.reports.figures import area_for, dated_after_query


def test_the_correction_of_a_kota_is_driven_by_the_week_of_steps(app):
    with app.app_context():
        kota = db.session.scalars(select(Kota).order_by(Kota.id)).first()
        area = area_for(Scope(level="province", kecamatan_ids=None), "kota", kota.id)
        stmt = dated_after_query(area, date(2026, 12, 1))  # a Tuesday: Wednesday to Sunday follow
        assert stmt is not None
        if db.engine.dialect.name != "sqlite":
            db.session.execute(stmt).all()  # valid there; PostgreSQL plans by its statistics
            return
        # SQLite's dialect leaves the LIMIT that goes with an OFFSET as a parameter (-1: no limit)
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("LIMIT ?", "LIMIT -1")
        plan = [str(row[-1]) for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        loops = [line for line in plan if line.startswith(("SCAN", "SEARCH"))]
        assert "participant_step" in loops[0] and "completed" in loops[0], plan
        assert any("participant USING INTEGER PRIMARY KEY" in line for line in loops), plan
