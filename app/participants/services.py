"""Registration rules: identity checks, duplicates, registration numbers, verification, steps.

Views and the importer call these; they flush, the request commits once.
"""
import re
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.errors import DomainError
from ..core.db import lock_row, run_prepared
from ..core.idnumbers import NikInfo, check_nik, normalize_phone, phone_error
from ..core.scoping import Scope
from ..core.sequences import next_values
from ..core.timeutil import today_wib, utcnow
from ..extensions import db
from ..regions.models import Kecamatan, Kelurahan
from .models import STAGES, OnlineResubmission, Participant, ParticipantStep, Sector, name_key
from .steps import STEP_BY_NUMBER

MIN_AGE = 17
LIMITS = {"name": 150, "email": 120, "address": 300, "business_name": 150}


class RegistrationError(DomainError):
    """Field errors (``fields``: field -> message, also as DomainError's ``errors``) and warnings
    that need a confirmation."""

    def __init__(self, errors: dict[str, str], needs_confirmation: dict[str, str] | None = None,
                 duplicates: list | None = None, existing=None, nik_taken: bool = False):
        message = "; ".join(errors.values())
        super().__init__(message, errors=list(errors.items()) or [(None, message)])
        self.fields = errors
        self.needs_confirmation = needs_confirmation or {}
        self.duplicates = duplicates or []
        self.existing = existing  # the participant who already has this NIK, when that is the problem
        self.nik_taken = nik_taken or existing is not None  # (a concurrent insert: look it up after rollback)


# --- Reference data ------------------------------------------------------------------------

def jakarta_kecamatan_prefixes() -> set[str]:
    return set(db.session.scalars(select(Kecamatan.nik_prefix)))


def sector_choices(include_id: int | None = None) -> dict[str, str]:
    stmt = select(Sector).order_by(Sector.position, Sector.name)
    return {str(s.id): s.name for s in db.session.scalars(stmt) if s.active or s.id == include_id}


def kelurahan_label(kel: Kelurahan) -> str:
    return f"{kel.name} — Kec. {kel.kecamatan.name} ({kel.code})"


def all_kelurahan() -> list[Kelurahan]:
    return list(db.session.scalars(select(Kelurahan).options(joinedload(Kelurahan.kecamatan))
                                   .order_by(Kelurahan.name)))


_CODE_IN_LABEL = re.compile(r"\((31\.\d{2}\.\d{2}\.\d{4})\)\s*$")


def resolve_kelurahan(value: str | None) -> Kelurahan | None:
    """A kelurahan from the picker's label ('Name — Kec. X (code)'), a code, or a unique name."""
    value = (value or "").strip()
    if not value:
        return None
    match = _CODE_IN_LABEL.search(value)
    code = match.group(1) if match else value
    found = db.session.scalars(select(Kelurahan).where(Kelurahan.code == code)).first()
    if found:
        return found
    key = name_key(value)
    candidates = [k for k in db.session.scalars(select(Kelurahan)) if name_key(k.name) == key]
    return candidates[0] if len(candidates) == 1 else None


# --- Checking one registration -----------------------------------------------------------

@dataclass
class Registration:
    """Raw values of one registration, from a form or an import row."""

    nik: str = ""
    name: str = ""
    birth_date: date | None = None
    gender: str | None = None
    phone: str = ""
    email: str = ""
    address: str = ""
    kelurahan: str = ""
    business_name: str = ""
    sector_id: int | None = None
    stage: str = ""
    phone_required: bool = True


@dataclass
class Checked:
    nik_info: NikInfo
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    confirmations: dict[str, str] = field(default_factory=dict)  # soft warnings to confirm
    notes: list[str] = field(default_factory=list)


def _tanggal(on: date) -> str:
    from ..core.formatting import tanggal

    return tanggal(on)


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def check_registration(reg: Registration, prefixes: set[str] | None = None, today: date | None = None,
                       registered_on: date | None = None) -> Checked:
    """Every single-record rule of ID_RULES.md and the registration form, without the database.

    The age rules hold on the registration date (``registered_on``, default today): an imported row
    registered in 2018 is judged by the participant's age in 2018, not by their age now."""
    today = today or today_wib()
    on = registered_on or today
    info = check_nik(reg.nik, prefixes)
    checked = Checked(nik_info=info, notes=list(info.notes))
    errors, values = checked.errors, checked.values
    if not info.valid:
        errors["nik"] = info.error
    values["nik"] = info.nik

    name = (reg.name or "").strip()
    if not name:
        errors["name"] = "Nama wajib diisi."
    elif len(name) > LIMITS["name"]:
        errors["name"] = f"Nama terlalu panjang: paling banyak {LIMITS['name']} karakter."
    elif not any(ch.isalpha() for ch in name):
        errors["name"] = "Nama harus berisi huruf."
    values["name"] = name

    birth = reg.birth_date or (info.birth_date(today) if info.valid else None)
    gender = reg.gender or (info.gender if info.valid else None)
    if birth is None:
        if info.valid:
            errors["birth_date"] = "Tanggal lahir wajib diisi."
    elif birth > today:
        errors["birth_date"] = "Tanggal lahir tidak boleh di masa depan."
    elif birth > on:
        errors["birth_date"] = "Tanggal lahir sesudah tanggal pendaftaran."
    elif age_on(birth, on) < MIN_AGE:
        errors["birth_date"] = (f"Usia peserta {age_on(birth, on)} tahun pada tanggal pendaftaran"
                                f"{'' if on == today else ' (' + _tanggal(on) + ')'}; pendaftaran untuk usia "
                                f"minimal {MIN_AGE} tahun (pemilik KTP).")
    elif age_on(birth, on) > 110:
        errors["birth_date"] = "Tanggal lahir tidak masuk akal (usia lebih dari 110 tahun)."
    if gender not in ("L", "P"):
        errors["gender"] = "Pilih jenis kelamin."
    if info.valid and birth and gender in ("L", "P") and "birth_date" not in errors:
        if not info.matches(birth, gender):
            checked.confirmations["identity"] = (
                "Tanggal lahir atau jenis kelamin berbeda dari yang tertulis di NIK. "
                "Periksa KTP; centang konfirmasi bila data KTP memang demikian.")
    values["birth_date"], values["gender"] = birth, gender

    phone_raw = (reg.phone or "").strip()
    if phone_raw:
        phone = normalize_phone(phone_raw)
        if phone is None:
            errors["phone"] = phone_error(phone_raw)
        values["phone"] = phone
    else:
        values["phone"] = None
        if reg.phone_required:
            errors["phone"] = "Nomor HP (WhatsApp) wajib diisi."

    email = (reg.email or "").strip()
    if email:
        if len(email) > LIMITS["email"]:
            errors["email"] = f"Alamat surel terlalu panjang: paling banyak {LIMITS['email']} karakter."
        else:
            try:
                email = validate_email(email, check_deliverability=False).normalized
            except EmailNotValidError:
                errors["email"] = "Alamat surel tidak sah, contoh: nama@contoh.com."
    values["email"] = email or None

    for key, label in (("address", "Alamat"), ("business_name", "Nama usaha")):
        text = (getattr(reg, key) or "").strip()
        if len(text) > LIMITS[key]:
            errors[key] = f"{label} terlalu panjang: paling banyak {LIMITS[key]} karakter."
        values[key] = text

    if reg.stage not in STAGES:
        errors["stage"] = "Pilih tahap usaha."
    values["stage"] = reg.stage
    values["sector_id"] = reg.sector_id
    return checked


def check_against_records(checked: Checked, reg: Registration, exclude_id: int | None = None) -> None:
    """The rules that need the database: kelurahan, sector, NIK taken, near-duplicates."""
    kel = resolve_kelurahan(reg.kelurahan)
    if kel is None:
        checked.errors["kelurahan"] = ("Pilih kelurahan dari daftar." if reg.kelurahan
                                       else "Kelurahan domisili wajib diisi.")
    checked.values["kelurahan_id"] = kel.id if kel else None
    sector = db.session.get(Sector, reg.sector_id) if reg.sector_id else None
    if sector is None:
        checked.errors["sector_id"] = "Pilih sektor usaha."
    if "nik" not in checked.errors:
        other = find_by_nik(checked.values["nik"])
        if other is not None and other.id != exclude_id:
            checked.errors["nik"] = (f"NIK ini sudah terdaftar di Kecamatan {other.kecamatan.name}. "
                                     "Buka data peserta tersebut; jangan mendaftarkan dua kali.")
            checked.values["_existing"] = other
    if checked.values.get("birth_date") and checked.values["name"] and "nik" not in checked.errors:
        dups = near_duplicates(checked.values["name"], checked.values["birth_date"], checked.values["nik"],
                               exclude_id=exclude_id)
        if dups:
            checked.confirmations["duplicate"] = (
                f"Ada {len(dups)} peserta dengan nama dan tanggal lahir yang sama tetapi NIK berbeda. "
                "Pastikan ini orang yang berbeda.")
            checked.values["_duplicates"] = dups


REG_NUMBER_RE = re.compile(r"^\d{6}-\d{4}-\d{5}$")  # e.g. 317401-2026-00001, as printed on the card
_SEPARATORS_RE = re.compile(r"[\s\-./_]+")


def is_reg_number(text: str) -> bool:
    return bool(REG_NUMBER_RE.match(text or ""))


def normalize_reg_number(text: str | None) -> str | None:
    """'317401202600001', '317401-2026-00001', '317401 2026 00001' → '317401-2026-00001'; else None."""
    digits = _SEPARATORS_RE.sub("", (text or "").strip())[:40]
    if len(digits) != 15 or not (digits.isascii() and digits.isdigit()):
        return None
    return f"{digits[:6]}-{digits[6:10]}-{digits[10:]}"


@dataclass(frozen=True)
class CheckinKey:
    """What was typed or scanned at a check-in: a registration number or a NIK, normalised."""

    kind: str  # "reg_number" | "nik"
    value: str

    def clause(self):
        return (Participant.reg_number if self.kind == "reg_number" else Participant.nik) == self.value


def checkin_key(text: str | None) -> CheckinKey | None:
    """The one reader of check-in input (training and events): a registration number with or without
    separators, or a 16-digit NIK (spaces/dots allowed); None when it is neither."""
    number = normalize_reg_number(text)
    if number is not None:
        return CheckinKey("reg_number", number)
    digits = _SEPARATORS_RE.sub("", (text or "").strip())[:40]
    if len(digits) == 16 and digits.isascii() and digits.isdigit():
        return CheckinKey("nik", digits)
    return None


def find_by_nik(nik: str) -> Participant | None:
    return db.session.scalars(select(Participant).options(joinedload(Participant.kecamatan))
                              .where(Participant.nik == nik)).first()


def near_duplicates(name: str, birth: date, nik: str, exclude_id: int | None = None, limit: int = 5) -> list[Participant]:
    stmt = (select(Participant).options(joinedload(Participant.kecamatan))
            .where(Participant.name_key == name_key(name), Participant.birth_date == birth,
                   Participant.nik != nik, Participant.status != "rejected").limit(limit))
    if exclude_id:
        stmt = stmt.where(Participant.id != exclude_id)
    return list(db.session.scalars(stmt))


# --- Registering -------------------------------------------------------------------------------

def registration_number(kecamatan: Kecamatan, year: int, sequence: int) -> str:
    return f"{kecamatan.nik_prefix}-{year}-{sequence:05d}"


def assign_reg_numbers(participants: list[Participant], kecamatan: Kecamatan,
                       registered_on: list[date | None] | None = None) -> None:
    """Number ``participants`` in ``kecamatan`` by the year of their registration date (P1):
    ``registered_on[i]`` for ``participants[i]`` (default today). One counter per kecamatan and year,
    one reservation per year, in the order given."""
    today = today_wib()
    dates = list(registered_on) if registered_on is not None else [None] * len(participants)
    by_year: dict[int, list[Participant]] = {}
    for participant, on in zip(participants, dates):
        by_year.setdefault((on or today).year, []).append(participant)
    for year, group in sorted(by_year.items()):
        numbers = next_values(f"reg:{kecamatan.nik_prefix}:{year}", len(group))
        for participant, sequence in zip(group, numbers):
            participant.reg_number = registration_number(kecamatan, year, sequence)


# --- Step rules (order and dates) -------------------------------------------------------------
# One rule for every door: recording a step, and the doors that lead to one (event sign-up and
# waiting-list promotion lead to P5, course enrolment to P2). Views and services call these only.

class StepOrderError(DomainError):
    """A step asked for before the ones before it, in mode berurutan; ``missing`` lists them."""

    def __init__(self, message: str, missing: list[int] | None = None):
        super().__init__(message)
        self.missing = missing or []


class StepDateError(DomainError):
    """A step (or licence) dated before the participant's registration (P1)."""


def program_mode() -> str:
    from ..settings.services import current_program_settings

    return current_program_settings().mode


def _missing(reached, step: int) -> list[int]:
    if step <= 1 or step in reached:
        return []
    return [n for n in range(1, step) if n not in reached]


def missing_steps(participant: Participant, step: int) -> list[int]:
    """The earlier steps ``participant`` still lacks before ``step`` may be reached (mode berurutan);
    empty in mode bebas or when the step is already reached."""
    if step <= 1 or program_mode() != "berurutan":
        return []
    reached = set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == participant.id)))
    return _missing(reached, step)


def missing_steps_for(participant_ids, step: int) -> dict[int, list[int]]:
    """:func:`missing_steps` for many participants in one query (bulk pages, the event page)."""
    ids = list(participant_ids)
    if step <= 1 or program_mode() != "berurutan":
        return {pid: [] for pid in ids}
    return {pid: _missing(set(reached), step) for pid, reached in steps_reached(ids).items()}


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " dan " + items[-1]


def missing_steps_phrase(missing: list[int]) -> str:
    """'langkah P2 Pelatihan, P3 Pendampingan dan P4 Perizinan belum selesai'."""
    return "langkah " + _join([f"{STEP_BY_NUMBER[n].code} {STEP_BY_NUMBER[n].name}" for n in missing]) + " belum selesai"


def step_order_message(missing: list[int], step: int, doing: str | None = None, who: str = "peserta ini") -> str:
    """Mode berurutan, naming every missing step; ``doing`` is what is refused (default: recording ``step``)."""
    target = STEP_BY_NUMBER[step]
    doing = doing or f"{target.code} {target.name} belum dapat dicatat"
    return f"Mode berurutan: {missing_steps_phrase(missing)} untuk {who}, jadi {doing}."


def check_step_order(participant: Participant, step: int, doing: str | None = None, who: str = "peserta ini") -> None:
    """In mode berurutan a step needs every one before it; StepOrderError names each missing step.

    Used where a step is recorded and at every door that leads to one (sign-up, enrolment, promotion)."""
    missing = missing_steps(participant, step)
    if missing:
        raise StepOrderError(step_order_message(missing, step, doing, who), missing)


def check_step(participant: Participant, step: int, on: date | None = None, field: str | None = None,
               what: str = "Tanggal", doing: str | None = None, who: str = "peserta ini") -> None:
    """The one step rule, asked wherever a step is recorded or a door leads to one: in mode berurutan
    every step before ``step`` must be reached (StepOrderError naming each missing one), and the
    step's date ``on`` may not lie before the registration (StepDateError on ``field``)."""
    check_step_order(participant, step, doing, who)
    check_step_date(participant, on, what, field)


_P1_DATE = select(ParticipantStep.completed_on).where(ParticipantStep.participant_id == bindparam("participant_id"),
                                                     ParticipantStep.step == 1)


def registration_date(participant: Participant) -> date | None:
    """The participant's P1 date (the registration), the earliest date any other step may carry."""
    first = run_prepared(_P1_DATE, {"participant_id": participant.id}).scalar()
    if first is None:
        first = next((s.completed_on for s in participant.steps if s.step == 1), None)
    return first


def step_date_error(participant: Participant, on: date | None, what: str = "Tanggal") -> str | None:
    """The Indonesian message when ``on`` lies before the participant's registration (P1), else None."""
    from ..core.formatting import tanggal

    registered = registration_date(participant)
    if on is None or registered is None or on >= registered:
        return None
    return (f"{what} tidak boleh sebelum tanggal pendaftaran peserta (P1), {tanggal(registered)}; "
            f"yang diisi {tanggal(on)}.")


def check_step_date(participant: Participant, on: date | None, what: str = "Tanggal", field: str | None = None) -> None:
    """The date half of :func:`check_step`: StepDateError (on ``field``) when ``on`` is before P1."""
    message = step_date_error(participant, on, what)
    if message:
        raise StepDateError(message, field)


def remove_step(participant: Participant, step: int, source: str, source_id: int | None = None) -> None:
    """Drop a step row that came from ``source`` (e.g. the completing record was deleted)."""
    row = db.session.scalars(select(ParticipantStep).where(
        ParticipantStep.participant_id == participant.id, ParticipantStep.step == step,
        ParticipantStep.source == source)).first()
    if row is not None and (source_id is None or row.source_id == source_id):
        db.session.delete(row)
        db.session.flush()
        db.session.expire(participant, ["steps"])


def record_step(participant: Participant, step: int, on: date, source: str, source_id: int | None = None,
                variant: str | None = None) -> ParticipantStep:
    """Mark ``step`` reached on ``on`` by a record; an earlier record moves the date back.

    ``variant`` is the kind of step for the figures: P1 takes the participant's channel, P4 the
    licence kind (given by licensing); an earlier record brings its variant along.

    No step after P1 may be dated before P1 (StepDateError); the forms check first, with the message
    next to their date field, so this is the last line."""
    if step > 1:
        check_step_date(participant, on, f"Tanggal {STEP_BY_NUMBER[step].code} {STEP_BY_NUMBER[step].name}")
    if variant is None and step == 1:
        variant = participant.channel
    existing = next((s for s in participant.steps if s.step == step), None)
    if existing is not None:
        if on < existing.completed_on:
            existing.completed_on, existing.source, existing.source_id = on, source, source_id
            existing.variant = variant
        return existing
    reached = {s.step for s in participant.steps}
    row = ParticipantStep(participant=participant, step=step, completed_on=on, source=source, source_id=source_id,
                          kecamatan_id=participant.kecamatan_id, variant=variant,
                          out_of_order=any(n not in reached for n in range(1, step)))
    db.session.add(row)
    return row


# --- (end of step rules) ---------------------------------------------------------------------


def _raise_if_invalid(checked: Checked, confirmed: set[str]) -> None:
    pending = {k: v for k, v in checked.confirmations.items() if k not in confirmed}
    if checked.errors or pending:
        raise RegistrationError(checked.errors, pending, checked.values.get("_duplicates"),
                                checked.values.get("_existing"))


def validate(reg: Registration, confirmed: set[str] = frozenset()) -> None:
    """Raise RegistrationError with every problem of ``reg`` without saving anything."""
    checked = check_registration(reg, jakarta_kecamatan_prefixes())
    check_against_records(checked, reg)
    _raise_if_invalid(checked, confirmed)


def register(reg: Registration, kecamatan: Kecamatan, channel: str, user=None,
             confirmed: set[str] = frozenset()) -> Participant:
    """Create a participant. Walk-ins are active at once (P1 done); online ones wait as pending."""
    checked = check_registration(reg, jakarta_kecamatan_prefixes())
    check_against_records(checked, reg)
    _raise_if_invalid(checked, confirmed)
    values = {k: v for k, v in checked.values.items() if not k.startswith("_")}
    participant = Participant(**values, name_key=name_key(values["name"]), kecamatan_id=kecamatan.id,
                              channel=channel, status="pending" if channel == "online" else "active",
                              registered_by_id=getattr(user, "id", None), registered_at=utcnow())
    db.session.add(participant)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise RegistrationError({"nik": "NIK ini baru saja didaftarkan oleh petugas lain. Cari NIK tersebut."},
                                nik_taken=True) from None
    if participant.status == "active":
        _activate(participant, kecamatan)
    audit.record("participant.create", participant, changes=_creation_changes(participant),
                 user_id=getattr(user, "id", None),
                 summary=f"Pendaftaran {checked.nik_info.nik[:4]}… ({channel})")
    return participant


def note_resubmission(existing: Participant, reg: Registration, kecamatan: Kecamatan) -> OnlineResubmission:
    """A public registration with a NIK already in the program: flag it in ``kecamatan``'s queue.

    Exactly once per (participant, office): the row is locked, or created under its unique key;
    a repeat refreshes what was sent and reopens it."""
    values = {"name": (reg.name or "").strip()[:150], "phone": normalize_phone((reg.phone or "").strip()),
              "email": (reg.email or "").strip()[:120] or None,
              "business_name": (reg.business_name or "").strip()[:150] or None}
    key = (OnlineResubmission.participant_id == existing.id) & (OnlineResubmission.kecamatan_id == kecamatan.id)
    row = db.session.scalars(select(OnlineResubmission).where(key).with_for_update()).first()
    if row is None:
        try:
            with db.session.begin_nested():
                row = OnlineResubmission(participant_id=existing.id, kecamatan_id=kecamatan.id, **values)
                db.session.add(row)
        except IntegrityError:
            row = db.session.scalars(select(OnlineResubmission).where(key).with_for_update()).one()
        else:
            audit.record("participant.online_resubmission", row, kecamatan_id=kecamatan.id, changes={},
                         summary="Pendaftaran daring dengan NIK yang sudah terdaftar")
            return row
    for k, v in values.items():
        setattr(row, k, v)
    row.times += 1
    row.submitted_at, row.handled_at, row.handled_by_id = utcnow(), None, None
    return row


def close_resubmission(row: OnlineResubmission, user) -> None:
    if row.handled_at is not None:
        return
    row.handled_at, row.handled_by_id = utcnow(), user.id
    audit.record("participant.online_resubmission_done", row, changes={}, summary="Ditandai selesai")


def _creation_changes(participant: Participant) -> dict:
    keys = ("reg_number", "name", "kelurahan_id", "channel", "status")
    return {k: {"before": None, "after": audit._plain(getattr(participant, k))} for k in keys}


def _activate(participant: Participant, kecamatan: Kecamatan) -> None:
    participant.status = "active"
    participant.verified_at = utcnow()
    assign_reg_numbers([participant], kecamatan)
    record_step(participant, 1, today_wib(), "registration", participant.id)


def verify(participant: Participant) -> None:
    lock_row(Participant, participant.id)  # a second verification waits here, then sees the first
    if participant.status != "pending":
        raise RegistrationError({"status": "Hanya pendaftaran yang menunggu verifikasi yang dapat diverifikasi."})
    before = audit.snapshot(participant)
    _activate(participant, participant.kecamatan)
    audit.record("participant.verify", participant, changes=audit.diff(before, participant),
                 summary=f"Diverifikasi: {participant.reg_number}")


def reject(participant: Participant, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RegistrationError({"reason": "Alasan penolakan wajib diisi."})
    if len(reason) > 300:
        raise RegistrationError({"reason": "Alasan terlalu panjang: paling banyak 300 karakter."})
    lock_row(Participant, participant.id)
    if participant.status != "pending":
        raise RegistrationError({"reason": "Hanya pendaftaran yang menunggu verifikasi yang dapat ditolak."})
    before = audit.snapshot(participant)
    participant.status = "rejected"
    participant.rejection_reason = reason
    audit.record("participant.reject", participant, changes=audit.diff(before, participant), summary="Ditolak")


MERGE_FIELDS = ("phone", "email", "address", "business_name")


def merge(pending: Participant, target: Participant) -> dict:
    """Fold an online registration into an existing participant: fill the target's empty fields."""
    for row_id in sorted({pending.id, target.id}):  # always in the same order: no deadlock
        lock_row(Participant, row_id)
    if pending.status != "pending":
        raise RegistrationError({"target": "Hanya pendaftaran yang menunggu verifikasi yang dapat digabungkan."})
    if target.id == pending.id or target.status != "active":
        raise RegistrationError({"target": "Pilih peserta aktif lain sebagai tujuan penggabungan."})
    before = audit.snapshot(target)
    for key in MERGE_FIELDS:
        if not getattr(target, key) and getattr(pending, key):
            setattr(target, key, getattr(pending, key))
    changes = audit.diff(before, target)
    if changes:
        audit.record("participant.merge_into", target, changes=changes,
                     summary=f"Data dari pendaftaran daring #{pending.id} digabungkan")
    pending_before = audit.snapshot(pending)
    pending.status = "rejected"
    pending.merged_into_id = target.id
    pending.rejection_reason = f"Digabungkan ke {target.reg_number}"
    audit.record("participant.merge", pending, changes=audit.diff(pending_before, pending),
                 summary=f"Digabungkan ke {target.reg_number}")
    return changes


EDITABLE = ("nik", "name", "birth_date", "gender", "phone", "email", "address", "kelurahan_id", "business_name",
            "sector_id", "stage")


def update(participant: Participant, reg: Registration, confirmed: set[str] = frozenset()) -> dict:
    checked = check_registration(reg, jakarta_kecamatan_prefixes())
    check_against_records(checked, reg, exclude_id=participant.id)
    _raise_if_invalid(checked, confirmed)
    before = audit.snapshot(participant)
    for key in EDITABLE:
        setattr(participant, key, checked.values[key])
    participant.name_key = name_key(participant.name)
    changes = {k: v for k, v in audit.diff(before, participant).items() if k not in ("name_key", "updated_at")}
    if "nik" in changes:
        changes["nik"] = {"before": before["nik"][:4] + "…" + before["nik"][-4:],
                          "after": participant.nik[:4] + "…" + participant.nik[-4:]}
    if changes:
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            raise RegistrationError({"nik": "NIK ini sudah dipakai peserta lain."}) from None
        audit.record("participant.update", participant, changes=changes, summary="Data peserta diubah")
    return changes


# --- Reading -----------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """'S••• A•••••' — enough to recognise, not to identify."""
    return " ".join(word[0] + "•" * (len(word) - 1) for word in name.split())


@dataclass
class NikStatus:
    info: NikInfo
    existing: Participant | None = None
    in_scope: bool = False
    steps: list[int] = field(default_factory=list)


def nik_status(raw: str, scope: Scope) -> NikStatus:
    info = check_nik(raw, jakarta_kecamatan_prefixes())
    status = NikStatus(info=info)
    if info.valid:
        status.existing = find_by_nik(info.nik)
        if status.existing is not None:
            status.in_scope = status.existing.within(scope)
            status.steps = sorted(db.session.scalars(select(ParticipantStep.step).where(
                ParticipantStep.participant_id == status.existing.id)))
    return status


def steps_reached(participant_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {pid: [] for pid in participant_ids}
    if participant_ids:
        rows = db.session.execute(select(ParticipantStep.participant_id, ParticipantStep.step)
                                  .where(ParticipantStep.participant_id.in_(participant_ids)))
        for pid, step in rows:
            result[pid].append(step)
    for steps in result.values():
        steps.sort()
    return result


def timeline(participant: Participant) -> list[dict]:
    """P1–P7 with date and source for the participant page; the next step is marked."""
    reached = {s.step: s for s in participant.steps}
    rows, next_marked = [], False
    for number, step in STEP_BY_NUMBER.items():
        row = {"step": step, "record": reached.get(number), "next": False}
        if row["record"] is None and not next_marked and participant.status == "active":
            row["next"] = True
            next_marked = True
        rows.append(row)
    return rows


