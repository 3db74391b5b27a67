"""Licensing rules: licences complete P4; SKU request letters with gap-free numbers per kecamatan and year."""
import re
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.errors import DomainError
from ..core.db import lock_row
from ..core.idnumbers import check_nib
from ..core.sequences import next_values
from ..core.timeutil import today_wib
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import check_step, check_step_date, program_mode, record_step
from ..regions.models import Kelurahan
from ..settings.services import letterhead_for
from .models import KINDS, License, SkuLetter

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class LicensingError(DomainError):
    """A rule of this domain broken (see DomainError)."""


def roman_month(month: int) -> str:
    return ROMAN[month - 1]


def letter_number(sequence: int, on: date) -> str:
    return f"{sequence:03d}/PKT/{roman_month(on.month)}/{on.year}"


def number_key(kind: str, number: str, kelurahan_id: int | None) -> str:
    """What makes a licence number unique: kind, issuer (SKU) and the number without spaces, upper case."""
    normal = re.sub(r"\s+", "", number.upper())
    return f"{kind}:{kelurahan_id or ''}:{normal}"


def sku_kelurahan(participant: Participant) -> list[Kelurahan]:
    """The kelurahan that may have issued this participant's SKU: those of the participant's
    kecamatan, the participant's own kelurahan (where they live may lie in another kecamatan), and the
    kelurahan an open SKU request letter was addressed to. The licence form offers these and only these."""
    letters = select(SkuLetter.kelurahan_id).where(SkuLetter.participant_id == participant.id,
                                                   SkuLetter.status == "requested")
    return list(db.session.scalars(select(Kelurahan).options(joinedload(Kelurahan.kecamatan)).where(or_(
        Kelurahan.kecamatan_id == participant.kecamatan_id, Kelurahan.id == participant.kelurahan_id,
        Kelurahan.id.in_(letters))).order_by(Kelurahan.name)))


def record_license(participant: Participant, kind: str, number: str, issued_on: date | None,
                   kelurahan_id: int | None, user) -> License:
    """Record a licence; the first one completes P4 (its issue date). SKU closes its open letter."""
    number = (number or "").strip()
    if kind not in KINDS:
        raise LicensingError("Pilih jenis izin.", "kind")
    if kind == "nib":
        number, error = check_nib(number)
        if error:
            raise LicensingError(error, "number")
    elif not number:
        raise LicensingError("Nomor izin wajib diisi.", "number")
    elif len(number) > 80:
        raise LicensingError("Nomor izin paling banyak 80 karakter.", "number")
    if issued_on is None:
        raise LicensingError("Tanggal terbit wajib diisi.", "issued_on")
    if issued_on > today_wib():
        raise LicensingError("Tanggal terbit tidak boleh di masa depan.", "issued_on")
    check_step_date(participant, issued_on, "Tanggal terbit izin", "issued_on")
    if kind == "sku":
        if not kelurahan_id:
            raise LicensingError("Pilih kelurahan yang menerbitkan SKU.", "kelurahan_id")
        if kelurahan_id not in {k.id for k in sku_kelurahan(participant)}:
            raise LicensingError(f"Kelurahan penerbit SKU harus di Kecamatan {participant.kecamatan.name} atau "
                                 "kelurahan domisili peserta; pilih dari daftar.", "kelurahan_id")
    else:
        kelurahan_id = None
    if participant.status != "active":
        raise LicensingError("Peserta belum diverifikasi (P1).")
    check_step(participant, 4)  # (nothing to check once P4 is reached)
    lock_row(Participant, participant.id)  # the participant's licences and letters take turns
    key = number_key(kind, number, kelurahan_id)
    if db.session.scalar(select(exists().where(License.number_key == key))):
        raise LicensingError("Nomor izin ini sudah tercatat untuk peserta lain atau sebelumnya.", "number")
    license_ = License(participant_id=participant.id, kecamatan_id=participant.kecamatan_id, kind=kind, number=number,
                       number_key=key, issued_on=issued_on, kelurahan_id=kelurahan_id,
                       recorded_by_id=getattr(user, "id", None))
    if kind == "sku":
        letter = db.session.scalars(select(SkuLetter).where(
            SkuLetter.participant_id == participant.id, SkuLetter.status == "requested",
            SkuLetter.kelurahan_id == kelurahan_id).order_by(SkuLetter.id.desc())).first()
        if letter is not None:
            license_.letter_id = letter.id
            letter.status = "issued"
            audit.record("sku_letter.issued", letter, kecamatan_id=letter.kecamatan_id,
                         changes={"status": {"before": "requested", "after": "issued"}},
                         summary=f"Surat {letter.number}: SKU terbit")
    db.session.add(license_)
    db.session.flush()
    record_step(participant, 4, issued_on, "license", license_.id, variant=kind)
    audit.record("license.create", license_, kecamatan_id=participant.kecamatan_id,
                 changes={"kind": {"before": None, "after": kind}, "number": {"before": None, "after": number},
                          "issued_on": {"before": None, "after": issued_on.isoformat()}},
                 summary=f"{KINDS[kind]} {number} dicatat")
    return license_


@dataclass
class Signer:
    name: str
    title: str
    nip: str = ""


def camat_signer(kecamatan) -> Signer:
    lh = letterhead_for(kecamatan)
    return Signer(lh.camat_name or "", f"Camat {kecamatan.name}", lh.camat_nip or "")


def request_letter(participant: Participant, signer: Signer, user) -> SkuLetter:
    """The participant's open letter (a reprint keeps its number), or a new one with the next number."""
    if participant.status != "active":
        raise LicensingError("Surat hanya untuk peserta yang sudah diverifikasi (P1).")
    lock_row(Participant, participant.id)  # a second request waits here, then finds this letter
    open_letter = db.session.scalars(select(SkuLetter).where(
        SkuLetter.participant_id == participant.id, SkuLetter.status == "requested")).first()
    if open_letter is not None:
        return open_letter
    if not signer.name.strip():
        raise LicensingError("Nama penanda tangan wajib diisi (isi nama camat di kop surat, atau pilih pejabat lain).",
                             "signer_name")
    today = today_wib()
    sequence = next_values(f"sku:{participant.kecamatan.nik_prefix}:{today.year}")[0]
    letter = SkuLetter(kecamatan_id=participant.kecamatan_id, participant_id=participant.id,
                       kelurahan_id=participant.kelurahan_id, year=today.year, sequence=sequence,
                       number=letter_number(sequence, today), code="".join(secrets.choice(CODE_ALPHABET) for _ in range(10)),
                       letter_date=today, signer_name=signer.name.strip()[:120], signer_title=signer.title.strip()[:120],
                       signer_nip=signer.nip.strip()[:30], created_by_id=getattr(user, "id", None))
    db.session.add(letter)
    db.session.flush()
    audit.record("sku_letter.create", letter, kecamatan_id=letter.kecamatan_id,
                 changes={"number": {"before": None, "after": letter.number}},
                 summary=f"Surat pengantar SKU {letter.number} untuk {participant.name}")
    return letter


def cancel_letter(letter: SkuLetter, reason: str) -> None:
    lock_row(SkuLetter, letter.id)  # cancelled once, whatever arrives at the same time
    reason = (reason or "").strip()
    if letter.status == "cancelled":
        raise LicensingError("Surat ini sudah dibatalkan sebelumnya.", "reason")
    if letter.status == "issued":
        raise LicensingError("SKU untuk surat ini sudah terbit; surat tidak dapat dibatalkan.", "reason")
    if not reason:
        raise LicensingError("Alasan pembatalan wajib diisi.", "reason")
    if len(reason) > 300:
        raise LicensingError("Alasan paling banyak 300 karakter.", "reason")
    letter.status = "cancelled"
    letter.cancel_reason = reason
    audit.record("sku_letter.cancel", letter, kecamatan_id=letter.kecamatan_id,
                 changes={"status": {"before": "requested", "after": "cancelled"}, "reason": {"before": None, "after": reason}},
                 summary=f"Surat {letter.number} dibatalkan")


def find_letter(code: str) -> SkuLetter | None:
    code = (code or "").strip().upper()
    if not (8 <= len(code) <= 16) or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return db.session.scalars(select(SkuLetter).where(SkuLetter.code == code)).first()


def ready_clause():
    """Participants who finished P2 (and P3 in mode berurutan) and have no licence (P4) yet."""
    has = Participant.has_step
    clause = has(2) & ~has(4) & (Participant.status == "active")
    if program_mode() == "berurutan":
        clause = clause & has(3)
    return clause
