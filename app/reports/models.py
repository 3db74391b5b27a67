"""Summary tables the dashboard and the weekly report read instead of the million participant rows.

Both tables are maintained by database triggers (see the migration ``dashboard tallies``) on
``participant_step`` and ``participant``, so every way a step or a participant is written —
a service, an import, a bulk demo load, a hand fix in SQL — keeps them exact. They are never
written by the application; :func:`app.reports.tallies.drift` recomputes them from the records
and lists any difference (``flask tallies check``).
"""
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.scoping import Scope, kecamatan_clause
from ..extensions import db


class StepTally(db.Model):
    """How many participants of a kelurahan completed a step in a period.

    A period is an ISO week (Monday to Sunday) cut at the new year, so both weeks and calendar
    years add up exactly: the week of 29 Dec 2025 has a period from 29 Dec and one from 1 Jan.
    """

    __tablename__ = "step_tally"
    __table_args__ = (
        Index("ix_step_tally_kecamatan_step_period", "kecamatan_id", "step", "period_start"),
        Index("ix_step_tally_step_period", "step", "period_start"),
        Index("ix_step_tally_out_of_order", "kelurahan_id", "period_start", sqlite_where=text("n_out_of_order > 0"),
              postgresql_where=text("n_out_of_order > 0")),
    )

    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"), primary_key=True)
    step: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    n: Mapped[int] = mapped_column(default=0)
    n_out_of_order: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


class ParticipantTally(db.Model):
    """How many participants of a kelurahan have exactly this set of steps (bit n-1 = step Pn)."""

    __tablename__ = "participant_tally"

    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"), primary_key=True)
    steps_mask: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    n: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


class StepVariantTally(db.Model):
    """How many participants of a kelurahan completed a step of a variant in a period: P1 by
    channel, P4 by licence kind (``ParticipantStep.variant``); periods as in :class:`StepTally`."""

    __tablename__ = "step_variant_tally"
    __table_args__ = (
        Index("ix_step_variant_tally_kecamatan_step_period", "kecamatan_id", "step", "period_start"),
        Index("ix_step_variant_tally_step_period", "step", "period_start"),
    )

    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"), primary_key=True)
    step: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    variant: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    n: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)
