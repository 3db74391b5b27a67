"""Account rules: which role may have which scope, authentication, first admin."""
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from ..core import audit
from ..core.errors import DomainError
from ..core.access import ADMIN, FACILITATOR, MANAGER, PENDAMPING, STAFF
from ..core.scoping import KECAMATAN, KOTA, PROVINCE
from ..core.timeutil import utcnow
from ..extensions import db
from ..regions.models import Kecamatan, Kota
from .models import User

ALLOWED_LEVELS = {
    ADMIN: {PROVINCE},
    MANAGER: {PROVINCE, KOTA},
    STAFF: {KECAMATAN},
    FACILITATOR: {KECAMATAN},
    PENDAMPING: {KECAMATAN},
}
LEVEL_ERROR = {
    ADMIN: "Admin bekerja untuk seluruh provinsi.",
    MANAGER: "Manajer bekerja untuk seluruh provinsi atau satu kota/kabupaten.",
    STAFF: "Petugas meja bekerja untuk satu kecamatan.",
    FACILITATOR: "Fasilitator bekerja untuk satu kecamatan.",
    PENDAMPING: "Pendamping bekerja untuk satu kecamatan.",
}
# A dummy hash so that an unknown user name costs as much time as a wrong password.
_DUMMY_HASH = None


class AccountError(DomainError):
    """A rule of accounts broken (see DomainError)."""


@dataclass(frozen=True)
class Wilayah:
    level: str
    kota_id: int | None = None
    kecamatan_id: int | None = None

    @classmethod
    def parse(cls, value: str) -> "Wilayah":
        """'province', 'kota:3' or 'kecamatan:12' (the value of the form's wilayah field)."""
        if value == PROVINCE:
            return cls(PROVINCE)
        level, _, ident = (value or "").partition(":")
        if level in (KOTA, KECAMATAN) and ident.isdigit():
            return cls(level, kota_id=int(ident)) if level == KOTA else cls(level, kecamatan_id=int(ident))
        raise AccountError(field="wilayah", message="Pilih wilayah kerja.")

    def value(self) -> str:
        if self.level == KOTA:
            return f"kota:{self.kota_id}"
        if self.level == KECAMATAN:
            return f"kecamatan:{self.kecamatan_id}"
        return PROVINCE


def wilayah_choices() -> dict[str, dict[str, str]]:
    """Grouped choices for the wilayah select field ({optgroup: {value: label}})."""
    kota = db.session.scalars(select(Kota).order_by(Kota.code)).all()
    kec = db.session.execute(
        select(Kecamatan.id, Kecamatan.name, Kota.name).join(Kota).order_by(Kecamatan.name)).all()
    return {
        "Provinsi": {PROVINCE: "Seluruh provinsi"},
        "Kota/Kabupaten": {f"kota:{k.id}": k.short_name for k in kota},
        "Kecamatan": {f"kecamatan:{i}": f"{name} ({kota_name.replace('Kota Administrasi ', '').replace('Kabupaten Administrasi ', '')})"
                      for i, name, kota_name in kec},
    }


def wilayah_of(user: User) -> Wilayah:
    return Wilayah(user.scope_level, user.kota_id, user.kecamatan_id)


def _apply_scope(user: User, role: str, wilayah: Wilayah) -> None:
    if role not in ALLOWED_LEVELS:
        raise AccountError(field="role", message="Peran tidak dikenal.")
    if wilayah.level not in ALLOWED_LEVELS[role]:
        raise AccountError(field="wilayah", message=LEVEL_ERROR[role])
    if wilayah.level == KOTA and db.session.get(Kota, wilayah.kota_id) is None:
        raise AccountError(field="wilayah", message="Kota tidak dikenal.")
    kota_id = wilayah.kota_id
    if wilayah.level == KECAMATAN:
        kec = db.session.get(Kecamatan, wilayah.kecamatan_id)
        if kec is None:
            raise AccountError(field="wilayah", message="Kecamatan tidak dikenal.")
        kota_id = kec.kota_id
    user.role = role
    user.scope_level = wilayah.level
    user.kota_id = kota_id if wilayah.level != PROVINCE else None
    user.kecamatan_id = wilayah.kecamatan_id if wilayah.level == KECAMATAN else None


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    stmt = select(func.count()).select_from(User).where(User.username == username.lower())
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt) > 0


def generate_password() -> str:
    """A readable random password: 3 groups of letters and digits, e.g. 'k7pq-x2mb-9rta'."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def create_user(username: str, full_name: str, role: str, wilayah: Wilayah,
                password: str | None = None, must_change: bool = True) -> tuple[User, str]:
    """Create a user; returns it with the password (generated when not given)."""
    username = username.strip().lower()
    if username_taken(username):
        raise AccountError(field="username", message="Nama pengguna ini sudah dipakai.")
    password = password or generate_password()
    user = User(username=username, full_name=full_name.strip())
    _apply_scope(user, role, wilayah)
    user.set_password(password)
    user.must_change_password = must_change
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, changes={
        "username": {"before": None, "after": username}, "role": {"before": None, "after": role},
        "scope_level": {"before": None, "after": wilayah.level}}, summary=f"Pengguna {username} dibuat")
    return user, password


def update_user(user: User, full_name: str, role: str, wilayah: Wilayah, acting: User) -> dict:
    if user.id == acting.id and role != user.role:
        raise AccountError(field="role", message="Anda tidak dapat mengubah peran akun Anda sendiri.")
    before = audit.snapshot(user)
    user.full_name = full_name.strip()
    _apply_scope(user, role, wilayah)
    changes = audit.diff(before, user)
    if changes:
        if "role" in changes or "scope_level" in changes or "kecamatan_id" in changes or "kota_id" in changes:
            user.end_sessions()
        audit.record("user.update", user, changes=changes, summary=f"Pengguna {user.username} diubah")
    return changes


def set_active(user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise AccountError(field="active", message="Anda tidak dapat menonaktifkan akun Anda sendiri.")
    if user.active == active:
        return
    before = audit.snapshot(user)
    user.active = active
    user.end_sessions()
    audit.record("user.activate" if active else "user.deactivate", user, changes=audit.diff(before, user),
                 summary=f"Pengguna {user.username} {'diaktifkan' if active else 'dinonaktifkan'}")


def reset_password(user: User) -> str:
    password = generate_password()
    user.set_password(password)
    user.must_change_password = True
    audit.record("user.reset_password", user, changes={"password_hash": {"before": "•••", "after": "•••"}},
                 summary=f"Kata sandi {user.username} direset")
    return password


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError(field="current", message="Kata sandi sekarang salah.")
    if current == new:
        raise AccountError(field="new", message="Kata sandi baru harus berbeda dari yang sekarang.")
    user.set_password(new)
    user.must_change_password = False
    audit.record("user.change_password", user, changes={"password_hash": {"before": "•••", "after": "•••"}},
                 summary="Kata sandi diganti sendiri")


def authenticate(username: str, password: str) -> User | None:
    """The user if name and password match (active or not); None otherwise, in constant-ish time."""
    global _DUMMY_HASH
    user = db.session.scalars(select(User).where(User.username == (username or "").strip().lower())).first()
    if user is None:
        from werkzeug.security import check_password_hash, generate_password_hash

        if _DUMMY_HASH is None:
            _DUMMY_HASH = generate_password_hash(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.check_password(password or ""):
        return None
    return user


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("user.login", user, changes={}, summary="Masuk")


def ensure_first_admin(password: str | None = None) -> tuple[User, str] | None:
    """Create user 'admin' (province) when there is no user at all; None if users exist."""
    if db.session.scalar(select(func.count()).select_from(User)) > 0:
        return None
    return create_user("admin", "Administrator", ADMIN, Wilayah(PROVINCE), password=password,
                       must_change=password is None)
