"""Events with a fixed number of booths, and the sign-ups that fill them or wait in line."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, false, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit_words import label_values
from ..core.scoping import Scope
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant
from ..regions.models import Kecamatan

REACHES = {"kecamatan": "Peserta kecamatan ini", "kota": "Peserta se-kota/kabupaten", "province": "Peserta se-provinsi"}
KINDS = {"bazar": "Bazar", "pameran": "Pameran/expo", "mart": "Penempatan OK OCE Mart", "lain": "Lainnya"}
SIGNUP_STATUSES = {"confirmed": "Terkonfirmasi", "waiting": "Menunggu", "cancelled": "Dibatalkan"}


class Event(db.Model):
    __tablename__ = "event"
    __table_args__ = (CheckConstraint("booths between 1 and 5000", name="booths"),
                      CheckConstraint("ends_on >= starts_on", name="dates"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(150))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)  # the organising office
    # Who may see the event and sign up: the organiser's kecamatan, its kota, or the whole province.
    reach: Mapped[str] = mapped_column(String(10), default="kecamatan", server_default="kecamatan")
    kota_id: Mapped[int | None] = mapped_column(ForeignKey("kota.id"), index=True)
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
    # The attendance list's revisions (core.roster): every mark takes the next number (its sign-up
    # carries it); a change that adds, removes or reorders the list's rows sets ``reset_revision``.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    reset_revision: Mapped[int] = mapped_column(default=0, server_default="0")

    kecamatan: Mapped[Kecamatan] = relationship()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def reach_label(self) -> str:
        return REACHES.get(self.reach, self.reach)

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Events organised in the user's region, plus kota-wide events of their kota and province-wide ones."""
        if scope.kecamatan_ids is None:
            return None
        if scope.role == "pendamping" or not scope.kecamatan_ids:
            return false()
        clauses = [cls.kecamatan_id.in_(sorted(scope.kecamatan_ids)), cls.reach == "province"]
        if scope.kota_id:
            clauses.append((cls.reach == "kota") & (cls.kota_id == scope.kota_id))
        return or_(*clauses)

    def organised_by(self, scope: Scope) -> bool:
        return scope.covers_kecamatan(self.kecamatan_id)


class Signup(db.Model):
    __tablename__ = "signup"
    __table_args__ = (
        UniqueConstraint("event_id", "participant_id", name="uq_signup_event_participant"),
        UniqueConstraint("event_id", "booth", name="uq_signup_event_booth"),
        CheckConstraint("status in ('confirmed', 'waiting', 'cancelled')", name="status"),
        Index("ix_signup_event_status", "event_id", "status"),
        Index("ix_signup_participant", "participant_id"),
        Index("ix_signup_event_revision", "event_id", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    status: Mapped[str] = mapped_column(String(10))
    booth: Mapped[int | None]
    attended: Mapped[bool] = mapped_column(default=False)
    # The attendance mark standing: when it was made (on the device), by whom, at which event revision.
    attended_at: Mapped[datetime | None]
    attended_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
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
        """The organiser sees every sign-up of its events; other kecamatan see their own participants'."""
        from sqlalchemy import select

        if scope.kecamatan_ids is None:
            return None
        if scope.role == "pendamping" or not scope.kecamatan_ids:
            return false()
        ids = sorted(scope.kecamatan_ids)
        organised = select(Event.id).where(Event.kecamatan_id.in_(ids))
        own = select(Participant.id).where(Participant.of_kecamatan(ids))
        return cls.event_id.in_(organised) | (cls.event_id.in_(select(Event.id).where(Event.scope_clause(scope)))
                                              & cls.participant_id.in_(own))


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


# The audit log and participant history show these codes in words.
label_values("signup", "status", SIGNUP_STATUSES)
