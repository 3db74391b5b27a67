"""Licences (the evidence of P4) and the kecamatan's SKU request letters."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit_words import label_values
from ..core.scoping import Scope
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant, participant_scope
from ..regions.models import Kecamatan, Kelurahan

KINDS = {"sku": "SKU (Surat Keterangan Usaha)", "iumk": "IUMK", "nib": "NIB (OSS)"}
LETTER_STATUSES = {"requested": "Diajukan", "issued": "SKU terbit", "cancelled": "Dibatalkan"}


class License(db.Model):
    __tablename__ = "license"
    __table_args__ = (
        CheckConstraint("kind in ('sku', 'iumk', 'nib')", name="kind"),
        UniqueConstraint("number_key", name="uq_license_number_key"),
        Index("ix_license_kecamatan_issued", "kecamatan_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    kind: Mapped[str] = mapped_column(String(4))
    number: Mapped[str] = mapped_column(String(80))
    number_key: Mapped[str] = mapped_column(String(100))  # kind + issuer + normalised number: duplicates refused
    issued_on: Mapped[date] = mapped_column(Date)
    kelurahan_id: Mapped[int | None] = mapped_column(ForeignKey("kelurahan.id"))  # issuer of an SKU
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("sku_letter.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship()
    kelurahan: Mapped[Kelurahan | None] = relationship()

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)


class SkuLetter(db.Model):
    """The kecamatan's letter to a lurah asking for an SKU; numbered NNN/PKT/<Roman month>/<year>."""

    __tablename__ = "sku_letter"
    __table_args__ = (
        UniqueConstraint("kecamatan_id", "year", "sequence", name="uq_sku_letter_kecamatan_year_sequence"),
        CheckConstraint("status in ('requested', 'issued', 'cancelled')", name="status"),
        Index("ix_sku_letter_kecamatan_status", "kecamatan_id", "status"),
        # At most one open (requested) letter per participant: a reprint keeps its number.
        Index("uq_sku_letter_open_participant", "participant_id", unique=True,
              sqlite_where=text("status = 'requested'"), postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"))
    year: Mapped[int]
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    letter_date: Mapped[date] = mapped_column(Date)
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_title: Mapped[str] = mapped_column(String(120))
    signer_nip: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(10), default="requested")
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship()
    kecamatan: Mapped[Kecamatan] = relationship()
    kelurahan: Mapped[Kelurahan] = relationship()

    @property
    def status_label(self) -> str:
        return LETTER_STATUSES[self.status]

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)


# The audit log and participant history show these codes in words.
label_values("license", "kind", KINDS)
label_values("sku_letter", "status", LETTER_STATUSES)
