"""Reading and changing the program settings and letterheads (with audit)."""
import io

from sqlalchemy import select

from ..core import audit
from ..core.errors import DomainError
from ..core.access import ADMIN, STAFF
from ..extensions import db
from ..regions.models import Kecamatan
from .models import Letterhead, ProgramSetting

MAX_LOGO_BYTES = 512 * 1024
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}

# The Dinas admin keeps every kecamatan's letterhead; a desk keeps its own (the scope decides which).
LETTERHEAD_ROLES = (ADMIN, STAFF)


def program_settings() -> ProgramSetting:
    """The single settings row, created with defaults on first use: for a writer (it joins the session)."""
    settings = db.session.get(ProgramSetting, 1)
    if settings is None:
        settings = ProgramSetting(id=1)
        db.session.add(settings)
        db.session.flush()
    return settings


def current_program_settings() -> ProgramSetting:
    """The settings to read by: the saved row, or an unsaved one with the defaults (a GET never writes)."""
    settings = db.session.get(ProgramSetting, 1)
    if settings is None:
        defaults = {column.key: column.default.arg for column in ProgramSetting.__table__.columns
                    if column.default is not None and column.default.is_scalar}
        settings = ProgramSetting(id=1, **defaults)
    return settings


def update_program_settings(mode: str, target_province: int, target_kelurahan: int) -> dict:
    settings = program_settings()
    before = audit.snapshot(settings)
    settings.mode = mode
    settings.target_province_per_year = target_province
    settings.target_kelurahan_per_year = target_kelurahan
    changes = {k: v for k, v in audit.diff(before, settings).items() if k != "updated_at"}
    if changes:
        audit.record("settings.update", settings, changes=changes, summary="Pengaturan program diubah")
    return changes


def default_letterhead(kecamatan: Kecamatan) -> Letterhead:
    """An unsaved letterhead with the office name only, used until the admin fills one in."""
    return Letterhead(kecamatan=kecamatan, kecamatan_id=kecamatan.id,
                      office_name=f"Kantor Kecamatan {kecamatan.name}", address="", phone="", email="",
                      camat_name="", camat_nip="")


def letterhead_for(kecamatan: Kecamatan) -> Letterhead:
    found = db.session.scalars(select(Letterhead).where(Letterhead.kecamatan_id == kecamatan.id)).first()
    return found or default_letterhead(kecamatan)


class LogoError(DomainError):
    pass


def check_logo(content: bytes) -> str:
    """The MIME type of a valid PNG/JPEG logo under the size limit; LogoError otherwise."""
    from PIL import Image, UnidentifiedImageError

    if len(content) > MAX_LOGO_BYTES:
        raise LogoError("Logo terlalu besar: paling banyak 512 KB.")
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            fmt = image.format
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise LogoError("Berkas logo bukan gambar PNG atau JPEG yang sah.") from None
    if fmt not in LOGO_FORMATS:
        raise LogoError("Logo harus berupa PNG atau JPEG.")
    return LOGO_FORMATS[fmt]


def save_letterhead(kecamatan: Kecamatan, values: dict, logo: bytes | None = None,
                    remove_logo: bool = False) -> dict:
    letterhead = db.session.scalars(select(Letterhead).where(Letterhead.kecamatan_id == kecamatan.id)).first()
    created = letterhead is None
    if created:
        letterhead = Letterhead(kecamatan_id=kecamatan.id, office_name=values["office_name"])
        db.session.add(letterhead)
    before = {} if created else audit.snapshot(letterhead)
    for key, value in values.items():
        setattr(letterhead, key, value)
    if logo is not None:
        letterhead.logo_mime = check_logo(logo)
        letterhead.logo = logo
    elif remove_logo:
        letterhead.logo = None
        letterhead.logo_mime = None
    db.session.flush()
    if created:
        changes = {k: {"before": None, "after": v} for k, v in values.items()}
    else:
        changes = {k: v for k, v in audit.diff(before, letterhead).items() if k not in ("updated_at", "logo")}
    if logo is not None or remove_logo:
        changes["logo"] = {"before": "•••", "after": "diganti" if logo is not None else "dihapus"}
    if changes:
        audit.record("letterhead.save", letterhead, changes=changes,
                     summary=f"Kop surat Kecamatan {kecamatan.name} disimpan")
    return changes
