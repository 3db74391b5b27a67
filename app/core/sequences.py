"""Gap-free counters (registration numbers, letter numbers), safe under concurrent requests.

The counter row is created if missing, then incremented with ``UPDATE … RETURNING``: the update
holds the row's lock until the transaction ends, so two requests never get the same value, and
a rolled-back transaction gives its numbers back (no gaps). On SQLite a writing transaction
holds the write lock (BEGIN IMMEDIATE, or taken at its first write in a reading request; see
``core.db``).
"""
from sqlalchemy import String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SequenceCounter(db.Model):
    __tablename__ = "sequence_counter"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_values(name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive values of counter ``name``; returns them as a range."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(SequenceCounter).values(name=name, value=0).on_conflict_do_nothing(
        index_elements=["name"]))
    last = db.session.execute(
        update(SequenceCounter).where(SequenceCounter.name == name)
        .values(value=SequenceCounter.value + count).returning(SequenceCounter.value)).scalar_one()
    return range(last - count + 1, last + 1)

