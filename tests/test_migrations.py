"""The schema comes from the migrations (conftest builds it from empty to head) and matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import check
from sqlalchemy import text

from app.participants.search import include_object
from app.extensions import db


def test_database_is_at_head(ctx, app):
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, "migrations must have a single head"
    assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == heads[0]


def test_models_and_migrations_agree(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": include_object})
        assert compare_metadata(context, db.metadata) == []


def test_flask_db_check(app):
    with app.app_context():
        check()  # raises (exits) when models and migrations differ


def test_upgrade_counts_existing_records_into_the_tallies(app, make_participant):
    """A database with participants from before the dashboard gets exact tallies on upgrade."""
    from datetime import date

    from flask_migrate import downgrade, upgrade

    from app.participants.models import Participant
    from app.participants.services import record_step
    from app.reports.models import ParticipantTally, StepTally
    from app.reports.tallies import drift

    ids = [make_participant(kecamatan=code) for code in ("31.74.01", "31.74.01", "31.71.06")]
    with app.app_context():
        for pid, steps in zip(ids, ([2, 4], [2], [])):
            if steps:  # registered earlier (no step before P1)
                record_step(db.session.get(Participant, pid), 1, date(2025, 12, 1), "test")
            for step in steps:
                record_step(db.session.get(Participant, pid), step, date(2025, 12, 31), "test")
        db.session.commit()
        downgrade(revision="06d5302a2361")
        db.session.remove()
        upgrade()
        assert drift() == []
        assert db.session.scalar(text("SELECT sum(n) FROM step_tally")) == 6
        assert db.session.query(StepTally).filter(StepTally.step == 4).one().period_start == date(2025, 12, 29)
        assert sorted(t.steps_mask for t in db.session.query(ParticipantTally)) == [1, 3, 11]
