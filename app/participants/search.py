"""Substring search on participants' names and business names, served by an index on both databases.

The searched text of a participant is ``name_key || ' ' || lower(business_name)``. PostgreSQL
indexes that expression with a trigram GIN index (``pg_trgm``); SQLite keeps an FTS5 table with the
trigram tokenizer (``participant_search``, rowid = participant id) in step by triggers. Both answer
``LIKE '%key%'`` from the index for keys of three characters or more; a shorter key matches name
starts only (by the name index). The database keeps the index; the application never writes it.
"""
from sqlalchemy import column, literal_column, or_, select, table

from ..extensions import db
from .models import Participant, name_key

FTS_TABLE = "participant_search"  # SQLite: the FTS5 table (and its shadow tables participant_search_*)
TRGM_INDEX = "ix_participant_search_trgm"  # PostgreSQL: the GIN index on SEARCHED_TEXT
SEARCHED_TEXT_SQL = "(name_key || ' ' || lower(business_name))"
MIN_INDEXED = 3  # trigrams: shorter keys cannot use the index

_fts = table(FTS_TABLE, column("rowid"), column("body"))


def searched_text():
    return literal_column(SEARCHED_TEXT_SQL)


def text_clause(term: str):
    """Participants whose name or business name contains ``term`` (normalised like names); None
    when the term holds nothing to search for."""
    key = name_key(term).replace("_", " ").strip()
    if not key:
        return None
    if len(key) < MIN_INDEXED:
        return or_(Participant.name_key.startswith(key), Participant.name_key.contains(" " + key))
    pattern = f"%{key}%"  # name_key leaves no % and the _ is gone: nothing to escape
    if db.session.get_bind().dialect.name == "sqlite":
        return Participant.id.in_(select(_fts.c.rowid).where(_fts.c.body.like(pattern)))
    return searched_text().like(pattern)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparison of models and database: the search index lives in migrations only."""
    return not (name and (name == TRGM_INDEX or name == FTS_TABLE or name.startswith(FTS_TABLE + "_")))
