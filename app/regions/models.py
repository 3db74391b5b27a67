"""Region master data. Codes are Kemendagri codes with dots (``31.74.07``)."""
from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.scoping import KOTA, Scope, kecamatan_clause
from ..extensions import db


class Kota(db.Model):
    __tablename__ = "kota"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    kecamatan: Mapped[list["Kecamatan"]] = relationship(back_populates="kota", order_by="Kecamatan.code")

    @classmethod
    def scope_clause(cls, scope: Scope):
        """A kota is the province's and its own Sudin's; a kecamatan desk sees its kecamatan only."""
        if scope.kecamatan_ids is None:
            return None
        if scope.level == KOTA and scope.kota_id:
            return cls.id == scope.kota_id
        return false()

    @property
    def short_name(self) -> str:
        return self.name.replace("Kota Administrasi ", "").replace("Kabupaten Administrasi ", "Kep. ").replace(
            "Kep. Kepulauan", "Kepulauan")

    def __repr__(self) -> str:
        return f"<Kota {self.code} {self.name}>"


class Kecamatan(db.Model):
    __tablename__ = "kecamatan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    nik_prefix: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kota_id: Mapped[int] = mapped_column(ForeignKey("kota.id"), index=True)

    kota: Mapped[Kota] = relationship(back_populates="kecamatan")
    kelurahan: Mapped[list["Kelurahan"]] = relationship(back_populates="kecamatan", order_by="Kelurahan.code")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.id, scope)

    def __repr__(self) -> str:
        return f"<Kecamatan {self.code} {self.name}>"


class Kelurahan(db.Model):
    __tablename__ = "kelurahan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)

    kecamatan: Mapped[Kecamatan] = relationship(back_populates="kelurahan")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return kecamatan_clause(cls.kecamatan_id, scope)

    def __repr__(self) -> str:
        return f"<Kelurahan {self.code} {self.name}>"
