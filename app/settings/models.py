from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.scoping import Scope, kecamatan_clause
from ..core.timeutil import utcnow
from ..extensions import db
from ..regions.models import Kecamatan

MODE_SEQUENTIAL = "berurutan"
MODE_FREE = "bebas"
MODE_LABELS = {
    MODE_SEQUENTIAL: "Berurutan (OK OCE): langkah dicatat setelah langkah sebelumnya selesai",
    MODE_FREE: "Bebas (JakPreneur): peserta memilih langkah dalam urutan apa pun",
}


class ProgramSetting(db.Model):
    """The deployment's program rules: one row (id 1)."""

    __tablename__ = "program_setting"
    __table_args__ = (CheckConstraint("mode in ('berurutan', 'bebas')", name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(20), default=MODE_SEQUENTIAL)
    target_province_per_year: Mapped[int] = mapped_column(default=40000)
    target_kelurahan_per_year: Mapped[int] = mapped_column(default=200)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def scope_clause(cls, scope: Scope):
        return None


class Letterhead(db.Model):
    """A kecamatan office's letterhead (kop surat) for its documents."""

    __tablename__ = "letterhead"

    id: Mapped[int] = mapped_column(primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), unique=True)
    office_name: Mapped[str] = mapped_column(String(150))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    camat_name: Mapped[str] = mapped_column(String(120), default="")
    camat_nip: Mapped[str] = mapped_column(String(30), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_mime: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    kecamatan: Mapped[Kecamatan] = relationship()

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)
