"""Events with a fixed number of booths, and the sign-ups that fill them or wait in line."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, false, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.scoping import Scope
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant
from ..regions.models import Kecamatan

KINDS = {"bazar": "Bazar", "pameran": "Pameran/expo", "mart": "Penempatan OK OCE Mart", "lain": "Lainnya"}
SIGNUP_STATUSES = {"confirmed": "Terkonfirmasi", "waiting": "Menunggu", "cancelled": "Dibatalkan"}


class Event(db.Model):
    __tablename__ = "event"
    __table_args__ = (CheckConstraint("booths between 1 and 5000", name="booths"),
                      CheckConstraint("ends_on >= starts_on", name="dates"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(150))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)  # organiser
    venue: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    booths: Mapped[int]
    signup_opens: Mapped[date] = mapped_column(Date)
    signup_closes: Mapped[date] = mapped_column(Date)
    # Fair order: first-timers ahead in the waiting list, earlier no-shows behind (else first come, first served).
    fair_order: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    kecamatan: Mapped[Kecamatan] = relationship()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @classmethod
    def scope_clause(cls, scope: Scope):
        if scope.kecamatan_ids is None:
            return None
        if scope.role == "pendamping" or not scope.kecamatan_ids:
            return false()
        return or_(cls.kecamatan_id.in_(sorted(scope.kecamatan_ids)))


class Signup(db.Model):
    __tablename__ = "signup"
    __table_args__ = (
        UniqueConstraint("event_id", "participant_id", name="uq_signup_event_participant"),
        UniqueConstraint("event_id", "booth", name="uq_signup_event_booth"),
        CheckConstraint("status in ('confirmed', 'waiting', 'cancelled')", name="status"),
        Index("ix_signup_event_status", "event_id", "status"),
        Index("ix_signup_participant", "participant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    status: Mapped[str] = mapped_column(String(10))
    booth: Mapped[int | None]
    attended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    # Set for the whole line when staff move someone by hand; later sign-ups (None) queue behind.
    queue_rank: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    event: Mapped[Event] = relationship()
    participant: Mapped[Participant] = relationship()

    @property
    def status_label(self) -> str:
        return SIGNUP_STATUSES[self.status]

    @classmethod
    def scope_clause(cls, scope: Scope):
        from sqlalchemy import select

        clause = Event.scope_clause(scope)
        return None if clause is None else cls.event_id.in_(select(Event.id).where(clause))


class EventQuota(db.Model):
    """At most ``max_booths`` confirmed booths for one sector at one event (e.g. 10 kuliner)."""

    __tablename__ = "event_quota"
    __table_args__ = (UniqueConstraint("event_id", "sector_id", name="uq_event_quota_event_sector"),
                      CheckConstraint("max_booths >= 0", name="max_booths"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    sector_id: Mapped[int] = mapped_column(ForeignKey("sector.id"))
    max_booths: Mapped[int]

    sector = relationship("Sector")
