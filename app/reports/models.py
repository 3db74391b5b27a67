"""Summary tables the dashboard and the weekly report read instead of the million participant rows.

Both tables are maintained by database triggers (see the migration ``dashboard tallies``) on
``participant_step`` and ``participant``, so every way a step or a participant is written —
a service, an import, a bulk demo load, a hand fix in SQL — keeps them exact. They are never
written by the application; :func:`app.reports.tallies.drift` recomputes them from the records
and lists any difference (``flask tallies check``).
"""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class StepVariantYearTally(db.Model):
    """:class:`StepVariantTally` added up per calendar year (a tally period never straddles two), so
    totals over years read a few thousand rows instead of every week. Kept by triggers on
    ``step_variant_tally`` itself (migration ``variant year tally``): every change of a weekly row
    moves its year's row by the same amount."""

    __tablename__ = "step_variant_year_tally"

    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"), primary_key=True)
    step: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    variant: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    n: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


class QualityTally(db.Model):
    """The weekly report's data-quality counts per kelurahan of domicile, among participants not
    rejected: without a phone (``participants.queries.NO_PHONE``) and suspected duplicates
    (``SUSPECTED_DUPLICATE``: another such participant of the same registering kecamatan, name and
    birth date). Kept by triggers on ``participant`` (migration ``quality tally``), which look up
    the twins of the row written through ``ix_participant_kecamatan_name_birth``."""

    __tablename__ = "quality_tally"

    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"), primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    n_no_phone: Mapped[int] = mapped_column(default=0)
    n_duplicate: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


# --- Weekly reports as submitted and approved (issue 20) ---------------------------------------

WEEK_STATES = {
    "open": "Belum diajukan",
    "draft": "Dibekukan otomatis",
    "submitted": "Diajukan",
    "returned": "Dikembalikan",
    "approved": "Disetujui",
}


class WeeklySubmission(db.Model):
    """A kecamatan's weekly report for one week: its state and current version.

    One row per (kecamatan, week). Every change of state is a conditional UPDATE of this row (the
    state it must be in is in the WHERE clause), so two requests that race — a double click, two
    managers approving at once, a submission against the Monday job — give one result; the loser
    sees a message. The versions (frozen figures) are :class:`WeeklySnapshot` rows.
    """

    __tablename__ = "weekly_submission"
    __table_args__ = (
        db.UniqueConstraint("kecamatan_id", "monday", name="uq_weekly_submission_kecamatan_monday"),
        db.CheckConstraint("state in ('open', 'draft', 'submitted', 'returned', 'approved')", name="state"),
        Index("ix_weekly_submission_monday_state", "monday", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    monday: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=0)  # the number of frozen versions so far

    @property
    def state_label(self) -> str:
        return WEEK_STATES.get(self.state, self.state)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


class WeeklySnapshot(db.Model):
    """One frozen version of a kecamatan's weekly report: every figure as computed when it was
    frozen (``figures``, JSON), and who stood behind them (``members``: every resident counted, with
    kelurahan and steps reached by the week's end, zlib-compressed JSON), plus the same for the
    previous approved week as it stood at that moment (``revised_members``), which makes its
    revision explainable. Written once, in the transaction that changes the week's state; the
    approved version's files are kept byte for byte in :class:`WeeklyReportFile`."""

    __tablename__ = "weekly_snapshot"
    __table_args__ = (
        db.UniqueConstraint("submission_id", "version", name="uq_weekly_snapshot_submission_version"),
        db.CheckConstraint("outcome in ('pending', 'returned', 'approved')", name="outcome"),
        # The approved week before another (its comparison and revision).
        Index("ix_weekly_snapshot_kecamatan_outcome_monday", "kecamatan_id", "outcome", "monday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("weekly_submission.id"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    monday: Mapped[date] = mapped_column(Date)
    version: Mapped[int]
    automatic: Mapped[bool] = mapped_column(default=False)
    frozen_at: Mapped[datetime]
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    outcome: Mapped[str] = mapped_column(String(10), default="pending")
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The approved week this version is compared with (None: no earlier approved week).
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("weekly_snapshot.id"))
    figures: Mapped[str] = mapped_column(Text)
    members: Mapped[bytes] = mapped_column(LargeBinary)
    revised_members: Mapped[bytes | None] = mapped_column(LargeBinary)

    submission = relationship(WeeklySubmission, foreign_keys=[submission_id])
    frozen_by = relationship("User", foreign_keys=[frozen_by_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])
    previous = relationship("WeeklySnapshot", remote_side=[id], foreign_keys=[previous_id])

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


class WeeklyReportFile(db.Model):
    """An approved version's PDF, XLSX or CSV, built once after the approval committed and served
    as stored, so a later correction never changes it."""

    __tablename__ = "weekly_report_file"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("weekly_snapshot.id"), primary_key=True)
    fmt: Mapped[str] = mapped_column(String(4), primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)
