"""Courses of one or more meetings, enrolments, attendance marks and certificates."""
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Time, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit_words import label_values
from ..core.access import FACILITATOR
from ..core.scoping import Scope, kecamatan_clause
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant
from ..regions.models import Kecamatan

PRESENT, LATE, EXCUSED, ABSENT = "hadir", "terlambat", "izin", "tidak_hadir"
STATUS_LABELS = {PRESENT: "Hadir", LATE: "Terlambat", EXCUSED: "Izin", ABSENT: "Tidak hadir"}
ATTENDED = (PRESENT, LATE)


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (CheckConstraint("min_meetings is null or min_meetings >= 1", name="min_meetings"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(150))
    topic: Mapped[str] = mapped_column(String(300), default="")
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    min_meetings: Mapped[int | None]  # None: present or late at every meeting
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    kecamatan: Mapped[Kecamatan] = relationship()
    facilitator = relationship("User", foreign_keys=[facilitator_id])
    meetings: Mapped[list["Meeting"]] = relationship(back_populates="course", order_by="Meeting.number",
                                                     cascade="all, delete-orphan")
    enrollments: Mapped[list["Enrollment"]] = relationship(back_populates="course", cascade="all, delete-orphan")

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Staff and managers: the courses of their region; a facilitator: only the courses they run."""
        clause = kecamatan_clause(cls.kecamatan_id, scope)
        if scope.role == FACILITATOR:
            own = cls.facilitator_id == scope.user_id
            return own if clause is None else (clause & own)
        if scope.role == "pendamping":
            return false()
        return clause

    @property
    def capacity(self) -> int:
        return min((m.capacity for m in self.meetings), default=100)

    def required_meetings(self, total: int | None = None) -> int:
        """How many meetings the rule asks for, of ``total`` (default: the course's meetings)."""
        total = len(self.meetings) if total is None else total
        return min(self.min_meetings, total) if self.min_meetings else total

    @property
    def rule_label(self) -> str:
        if not self.min_meetings or self.min_meetings >= len(self.meetings):
            return "hadir atau terlambat di setiap pertemuan"
        return f"hadir atau terlambat di sedikitnya {self.min_meetings} dari {len(self.meetings)} pertemuan"


def _course_scope(column, scope: Scope):
    clause = Course.scope_clause(scope)
    return None if clause is None else column.in_(select(Course.id).where(clause))


class Meeting(db.Model):
    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("course_id", "number", name="uq_meeting_course_number"),
        CheckConstraint("end_time > start_time", name="time_order"),
        CheckConstraint("capacity between 1 and 1000", name="capacity"),
        Index("ix_meeting_date_course", "date", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    number: Mapped[int]
    date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    venue: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(default=100)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Every change to the roster takes the next number (its attendance rows carry it), so a screen
    # asks "what changed since n"; a change that removes rows (reopening) or touches all of them
    # (closing) sets ``reset_revision``, and screens older than it reload.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    reset_revision: Mapped[int] = mapped_column(default=0, server_default="0")

    course: Mapped[Course] = relationship(back_populates="meetings")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return _course_scope(cls.course_id, scope)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def label(self) -> str:
        return f"{self.course.title} — pertemuan {self.number}"


class Enrollment(db.Model):
    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("course_id", "participant_id", name="uq_enrollment_course_participant"),
                      Index("ix_enrollment_participant", "participant_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    completed_on: Mapped[date | None] = mapped_column(Date)

    course: Mapped[Course] = relationship(back_populates="enrollments")
    participant: Mapped[Participant] = relationship()

    @classmethod
    def scope_clause(cls, scope: Scope):
        return _course_scope(cls.course_id, scope)


class Attendance(db.Model):
    """One mark per meeting and enrolment; a new tap overwrites only this row (nothing else is lost)."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "enrollment_id", name="uq_attendance_meeting_enrollment"),
        CheckConstraint("status in ('hadir', 'terlambat', 'izin', 'tidak_hadir')", name="status"),
        Index("ix_attendance_enrollment", "enrollment_id"),
        Index("ix_attendance_meeting_revision", "meeting_id", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    automatic: Mapped[bool] = mapped_column(default=False)  # set when the meeting closed unmarked
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the mark was made (on the device)
    revision: Mapped[int] = mapped_column(default=0, server_default="0")  # the meeting's revision that set it

    @classmethod
    def scope_clause(cls, scope: Scope):
        return _course_scope(select(Meeting.course_id).where(Meeting.id == cls.meeting_id).scalar_subquery(), scope)


class Certificate(db.Model):
    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("course_id", "participant_id", name="uq_certificate_course_participant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    course: Mapped[Course] = relationship()
    participant: Mapped[Participant] = relationship()

    @classmethod
    def scope_clause(cls, scope: Scope):
        return _course_scope(cls.course_id, scope)


# The audit log and participant history show these codes in words.
label_values("attendance", "status", STATUS_LABELS)
