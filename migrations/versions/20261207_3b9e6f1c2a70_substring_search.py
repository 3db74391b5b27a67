"""substring search on names and business names, served by a trigram index

Revision ID: 3b9e6f1c2a70
Revises: e5b7a2c91f03
Create Date: 2026-12-07 00:45:00

PostgreSQL: a GIN index with pg_trgm on the searched text. SQLite: an FTS5 table with the trigram
tokenizer, filled from the participants and kept in step by triggers. See app/participants/search.py.
"""
from alembic import op
import sqlalchemy as sa


revision = '3b9e6f1c2a70'
down_revision = 'e5b7a2c91f03'
branch_labels = None
depends_on = None

TEXT = "name_key || ' ' || lower(business_name)"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_participant_search_trgm ON participant USING gin (({TEXT}) gin_trgm_ops)")
        return
    op.execute("CREATE VIRTUAL TABLE participant_search USING fts5(body, tokenize = 'trigram')")
    op.execute(f"INSERT INTO participant_search (rowid, body) SELECT id, {TEXT} FROM participant")
    new_text = TEXT.replace("name_key", "new.name_key").replace("business_name", "new.business_name")
    op.execute(f"CREATE TRIGGER participant_search_insert AFTER INSERT ON participant BEGIN "
               f"INSERT INTO participant_search (rowid, body) VALUES (new.id, {new_text}); END")
    op.execute(f"CREATE TRIGGER participant_search_update AFTER UPDATE OF name_key, business_name ON participant "
               f"BEGIN UPDATE participant_search SET body = {new_text} WHERE rowid = new.id; END")
    op.execute("CREATE TRIGGER participant_search_delete AFTER DELETE ON participant BEGIN "
               "DELETE FROM participant_search WHERE rowid = old.id; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_participant_search_trgm")
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS participant_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS participant_search")
