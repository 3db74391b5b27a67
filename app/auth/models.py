"""Users with a role and a region scope (province, one kota or one kecamatan)."""
import secrets
from datetime import datetime

from flask import g, has_request_context
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.access import ADMIN, ROLE_LABELS
from ..core.scoping import KECAMATAN, KOTA, PROVINCE, Scope, kecamatan_clause
from ..core.timeutil import utcnow
from ..extensions import db
from ..regions.models import Kecamatan, Kota

def _new_token() -> str:
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("scope_level in ('province', 'kota', 'kecamatan')", name="scope_level"),
        CheckConstraint("role in ('admin', 'manager', 'staff', 'facilitator', 'pendamping')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    scope_level: Mapped[str] = mapped_column(String(20))
    kota_id: Mapped[int | None] = mapped_column(ForeignKey("kota.id"), index=True)
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(40), default=_new_token)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    kota: Mapped[Kota | None] = relationship()
    kecamatan: Mapped[Kecamatan | None] = relationship()

    # Flask-Login --------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Id plus a token that changes on password reset or deactivation, ending old sessions."""
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt (Werkzeug default)
        self.session_token = _new_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        self.session_token = _new_token()

    # Labels -------------------------------------------------------------
    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def scope_label(self) -> str:
        if self.scope_level == KECAMATAN and self.kecamatan:
            return f"Kecamatan {self.kecamatan.name}"
        if self.scope_level == KOTA and self.kota:
            return self.kota.short_name
        return "Seluruh provinsi"

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    # Scope --------------------------------------------------------------
    def scope(self) -> Scope:
        """This user's reach, computed once per request."""
        cache_key = f"_scope_{self.id}"
        if has_request_context() and cache_key in g:
            return g.get(cache_key)
        if self.scope_level == PROVINCE:
            ids = None
        elif self.scope_level == KOTA:
            ids = frozenset(db.session.scalars(select(Kecamatan.id).where(Kecamatan.kota_id == self.kota_id)))
        else:
            ids = frozenset([self.kecamatan_id]) if self.kecamatan_id else frozenset()
        scope = Scope(level=self.scope_level, role=self.role, user_id=self.id, kota_id=self.kota_id,
                      kecamatan_id=self.kecamatan_id, kecamatan_ids=ids)
        if has_request_context():
            setattr(g, cache_key, scope)
        return scope

    @classmethod
    def scope_clause(cls, scope: Scope):
        """Users are visible by the kecamatan they work in; province-wide users only to the province."""
        if scope.kecamatan_ids is None:
            return None
        return kecamatan_clause(cls.kecamatan_id, scope)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
