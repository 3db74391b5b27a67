"""Participants, their sectors, and the step records that say which steps each has reached."""
import re
import unicodedata
from datetime import date, datetime

from sqlalchemy import (and_, CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint, false, or_,
                        select, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit_words import label_values
from ..core.scoping import Scope, kecamatan_clause
from ..core.timeutil import utcnow
from ..extensions import db
from ..regions.models import Kecamatan, Kelurahan

GENDERS = {"L": "Laki-laki", "P": "Perempuan"}
STAGES = {"ide": "Ide", "baru_mulai": "Baru mulai", "berjalan": "Sudah berjalan"}
CHANNELS = {"walkin": "Datang langsung", "online": "Daring", "import": "Impor"}
# P4 by licence kind, as the figures group it and the list filters it (``izin=…``): the step's variant
# values of each group; None = P4 reached otherwise (no licence of these kinds).
LICENSE_GROUPS = {"iumk_nib": ("IUMK/NIB", ("iumk", "nib")), "sku": ("SKU", ("sku",)),
                  "lainnya": ("Izin lainnya", None)}
STATUSES = {"pending": "Menunggu verifikasi", "active": "Aktif", "rejected": "Ditolak"}
DEFAULT_SECTORS = [
    ("kuliner", "Kuliner"), ("fashion", "Fesyen"), ("kriya", "Kriya"), ("jasa", "Jasa"),
    ("pertanian", "Pertanian/perikanan"), ("perdagangan", "Perdagangan"), ("lainnya", "Lainnya"),
]


def name_key(name: str) -> str:
    """Case-, accent- and punctuation-free form of a name, for search and duplicate checks."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w\s]", "", stripped.casefold())
    return " ".join(cleaned.split())


class Sector(db.Model):
    __tablename__ = "sector"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return None


class Participant(db.Model):
    __tablename__ = "participant"
    __table_args__ = (
        CheckConstraint("gender in ('L', 'P')", name="gender"),
        CheckConstraint("status in ('pending', 'active', 'rejected')", name="status"),
        CheckConstraint("channel in ('walkin', 'online', 'import')", name="channel"),
        CheckConstraint("stage in ('ide', 'baru_mulai', 'berjalan')", name="stage"),
        Index("ix_participant_kecamatan_status_registered", "kecamatan_id", "status", "registered_at"),
        Index("ix_participant_kecamatan_registered", "kecamatan_id", "registered_at"),
        Index("ix_participant_kelurahan_registered", "kelurahan_id", "registered_at"),
        # By status (the queues) and online registrations waiting too long, counted per kelurahan.
        Index("ix_participant_status_channel_registered", "status", "channel", "registered_at", "kelurahan_id"),
        # Participants without a phone (a data-quality flag of the weekly report): a few percent.
        Index("ix_participant_no_phone", "kecamatan_id", "kelurahan_id", "status",
              sqlite_where=text("phone IS NULL"), postgresql_where=text("phone IS NULL")),
        Index("ix_participant_name_key_birth", "name_key", "birth_date"),
        # Name search within a kecamatan, and suspected duplicates (same name and birth date).
        Index("ix_participant_kecamatan_name_birth", "kecamatan_id", "name_key", "birth_date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reg_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(150))
    name_key: Mapped[str] = mapped_column(String(150))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    business_name: Mapped[str] = mapped_column(String(150), default="")
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20), default="ide")
    channel: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(10))
    rejection_reason: Mapped[str | None] = mapped_column(String(300))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    pendamping_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    # Bit n-1 set when step Pn is reached; kept by the database triggers on participant_step
    # (see app.reports.models), never written by the application.
    steps_mask: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    registered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verified_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    kelurahan: Mapped[Kelurahan] = relationship()
    kecamatan: Mapped[Kecamatan] = relationship()
    sector: Mapped[Sector | None] = relationship()
    registered_by = relationship("User", foreign_keys=[registered_by_id])
    pendamping = relationship("User", foreign_keys=[pendamping_id])
    steps: Mapped[list["ParticipantStep"]] = relationship(back_populates="participant",
                                                          order_by="ParticipantStep.step")

    @classmethod
    def has_step(cls, step: int):
        """The one answer to "has this participant reached step Pn?" in a query (steps_mask, kept by triggers)."""
        return cls.steps_mask.op("&")(1 << (step - 1)) != 0

    @classmethod
    def of_kecamatan(cls, kecamatan_ids):
        """Participants a kecamatan answers for: registered by it, or living in one of its kelurahan.

        The one rule of where a participant belongs, for who may see them and for the figures
        (which count by domicile, a subset of this): so every figure's list is within reach."""
        ids = sorted(kecamatan_ids)
        if not ids:
            return false()
        home = select(Kelurahan.id).where(Kelurahan.kecamatan_id.in_(ids)).scalar_subquery()
        if len(ids) == 1:
            return or_(cls.kecamatan_id == ids[0], cls.kelurahan_id.in_(home))
        return or_(cls.kecamatan_id.in_(ids), cls.kelurahan_id.in_(home))

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Region scope (registered by or living in the user's kecamatan); a pendamping sees only
        the participants assigned to them."""
        clause = None if scope.kecamatan_ids is None else cls.of_kecamatan(scope.kecamatan_ids)
        if scope.role == "pendamping":
            own = cls.pendamping_id == scope.user_id
            return own if clause is None else (clause & own)
        return clause

    @classmethod
    def scope_parts(cls, scope: Scope) -> list | None:
        """:meth:`scope_clause` of a regional scope as two disjoint parts whose union it is —
        registered by the kecamatan; living in it but registered elsewhere — so that a list in an
        indexed order can be read part by part, each part by its own index, instead of walking the
        order's index through the whole province testing the OR on every row (PostgreSQL: a desk's
        list by registration number 0.5–1.4 s → 50 ms at 1,000,000). None for the province."""
        if scope.kecamatan_ids is None:
            return None
        ids = sorted(scope.kecamatan_ids)
        if not ids:
            return [false()]
        home = select(Kelurahan.id).where(Kelurahan.kecamatan_id.in_(ids)).scalar_subquery()
        parts = [cls.kecamatan_id.in_(ids), and_(cls.kelurahan_id.in_(home), cls.kecamatan_id.not_in(ids))]
        if scope.role == "pendamping":
            parts = [and_(part, cls.pendamping_id == scope.user_id) for part in parts]
        return parts

    def within(self, scope: Scope) -> bool:
        """The scope rule above, for one participant already loaded (e.g. whether to offer a link)."""
        if scope.role == "pendamping" and self.pendamping_id != scope.user_id:
            return False
        if scope.kecamatan_ids is None:
            return True
        return self.kecamatan_id in scope.kecamatan_ids or self.kelurahan.kecamatan_id in scope.kecamatan_ids

    @property
    def gender_label(self) -> str:
        return GENDERS.get(self.gender, "")

    @property
    def stage_label(self) -> str:
        return STAGES.get(self.stage, "")

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, "")

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, "")

    def __repr__(self) -> str:
        return f"<Participant {self.reg_number or self.id} {self.name}>"


def participant_scope(column, scope: Scope):
    """Scope for records that belong to a participant: the participant's own scope, through ``column``."""
    from sqlalchemy import select

    clause = Participant.scope_clause(scope)
    return None if clause is None else column.in_(select(Participant.id).where(clause))


class ParticipantStep(db.Model):
    """A step reached: the first record that completed it (source) and when.

    One row per participant and step; the dashboards count these rows, the participant page
    shows them as the timeline. Rows are written by the services of the domain that owns the
    completing record (registration for P1, training for P2, ...), never typed by hand.
    """

    __tablename__ = "participant_step"
    __table_args__ = (
        UniqueConstraint("participant_id", "step", name="uq_participant_step_participant_step"),
        CheckConstraint("step between 1 and 7", name="step"),
        Index("ix_participant_step_step_kecamatan_date", "step", "kecamatan_id", "completed_on"),
        # Steps dated after an "as of" day within its tally week (the dashboard's partial week).
        Index("ix_participant_step_completed_step", "completed_on", "step"),
        # Steps recorded out of order (a data-quality figure of the weekly report): a few rows.
        Index("ix_participant_step_out_of_order", "completed_on", "participant_id",
              sqlite_where=text("out_of_order = 1"), postgresql_where=text("out_of_order")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    step: Mapped[int] = mapped_column(SmallInteger)
    completed_on: Mapped[date] = mapped_column(Date)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    source: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int | None]
    out_of_order: Mapped[bool] = mapped_column(default=False)
    # The kind of step it was, for the figures: P1 the channel (walkin/online/import), P4 the licence
    # kind (iumk/nib/sku); None for the other steps. Counted by the variant tally's triggers.
    variant: Mapped[str | None] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship(back_populates="steps")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)  # seen wherever its participant is


class OnlineResubmission(db.Model):
    """A public registration whose NIK is already in the program, kept for the chosen office's staff.

    The public form answers it exactly like a new registration (it must not tell anyone whether a
    NIK is registered); staff see it flagged in their online queue, next to the existing record.
    One row per (existing participant, office): sending the form again updates it and reopens it.
    """

    __tablename__ = "online_resubmission"
    __table_args__ = (UniqueConstraint("participant_id", "kecamatan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    name: Mapped[str] = mapped_column(String(150))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    business_name: Mapped[str | None] = mapped_column(String(150))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    times: Mapped[int] = mapped_column(default=1)
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    participant: Mapped[Participant] = relationship()
    kecamatan: Mapped[Kecamatan] = relationship()

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)


# The audit log and participant history show these codes in words.
label_values("participant", "gender", GENDERS)
label_values("participant", "stage", STAGES)
label_values("participant", "channel", CHANNELS)
label_values("participant", "status", STATUSES)
