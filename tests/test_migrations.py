"""The schema comes from the migrations (conftest builds it from empty to head) and matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import check
from sqlalchemy import text

from app.extensions import db


def test_database_is_at_head(ctx, app):
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, "migrations must have a single head"
    assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == heads[0]


def test_models_and_migrations_agree(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_flask_db_check(app):
    with app.app_context():
        check()  # raises (exits) when models and migrations differ
