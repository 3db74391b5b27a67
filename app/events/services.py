"""Sign-up rules: never more confirmed than booths (row lock on the event), first come first served,
a cancellation promotes the first in line; attending completes P5.

Attending completes P5, so in mode berurutan the step rule applies at every door that leads there:
sign-up (desk, bulk, public), promotion from the waiting list, and attendance itself."""
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.checkin import ALREADY, BLOCKED, INVALID, NOT_CONFIRMED, OK, REFUSED, SUPERSEDED, UNKNOWN, Outcome
from ..auth.models import User
from ..core.errors import DomainError
from ..core.db import lock_row
from ..core.access import ADMIN, MANAGER, STAFF
from ..core.formatting import tanggal
from ..core.roster import SUPERSEDED_ACTION, MarkSuperseded, mark_time, next_revision, standing_row, write_if_later
from ..core.scoping import Scope, scoped
from ..core.timeutil import to_wib, today_wib, utcnow
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import (check_step, checkin_key, missing_steps_for, missing_steps_phrase, record_step,
                                     registration_date, remove_step)
from .models import KINDS, REACHES, Event, EventQuota, Signup


class EventError(DomainError):
    """A rule of events broken; ``code`` NOT_ORGANISER is answered 403 (see DomainError)."""


# Who organises events: a kecamatan desk, or a Sudin/Dinas manager for a larger event.
ORGANISER_ROLES = (ADMIN, MANAGER, STAFF)
NOT_ORGANISER, TOO_EARLY = "not_organiser", "too_early"
MARKET_STEP = 5  # attending an event completes P5 Pemasaran


def create_event(kind, name, kecamatan, venue, starts_on, ends_on, booths, opens, closes, user,
                 fair_order: bool = False, quotas: dict[int, int] | None = None, reach: str = "kecamatan") -> Event:
    errors = []
    if reach not in REACHES:
        errors.append(("reach", "Pilih siapa yang boleh mendaftar."))
    if kind not in KINDS:
        errors.append(("kind", "Pilih jenis acara."))
    if not (name or "").strip():
        errors.append(("name", "Nama acara wajib diisi."))
    if not (venue or "").strip():
        errors.append(("venue", "Tempat wajib diisi."))
    if starts_on is None:
        errors.append(("starts_on", "Tanggal mulai wajib diisi."))
    if ends_on is None:
        errors.append(("ends_on", "Tanggal selesai wajib diisi."))
    elif starts_on and ends_on < starts_on:
        errors.append(("ends_on", "Tanggal selesai tidak boleh sebelum tanggal mulai."))
    if booths is None or not 1 <= booths <= 5000:
        errors.append(("booths", "Jumlah stan antara 1 dan 5.000."))
    for sector_id, limit in (quotas or {}).items():
        if limit < 0 or (booths and limit > booths):
            errors.append((f"quota_{sector_id}", "Kuota sektor antara 0 dan jumlah stan."))
    if opens is None or closes is None:
        errors.append(("signup_closes", "Isi masa pendaftaran (buka dan tutup)."))
    elif closes < opens:
        errors.append(("signup_closes", "Pendaftaran ditutup sebelum dibuka."))
    elif starts_on and closes > starts_on:
        errors.append(("signup_closes", "Pendaftaran harus ditutup paling lambat pada hari acara."))
    if errors:
        raise EventError.of(errors)
    event = Event(kind=kind, name=name.strip(), kecamatan_id=kecamatan.id, venue=venue.strip(), starts_on=starts_on,
                  ends_on=ends_on, booths=booths, signup_opens=opens, signup_closes=closes,
                  fair_order=fair_order, reach=reach, kota_id=kecamatan.kota_id, created_by_id=getattr(user, "id", None))
    db.session.add(event)
    db.session.flush()
    for sector_id, limit in (quotas or {}).items():
        db.session.add(EventQuota(event_id=event.id, sector_id=sector_id, max_booths=limit))
    audit.record("event.create", event, changes={"name": {"before": None, "after": event.name},
                                                 "booths": {"before": None, "after": booths}},
                 summary=f"Acara {event.name} dibuat")
    return event


def lock_event(event_id: int) -> Event:
    """The event row, locked until commit: sign-ups and cancellations of one event take turns."""
    return lock_row(Event, event_id)


def roster_changed(event: Event) -> None:
    """The attendance list's rows were added, removed or reordered (call with the event locked):
    every screen showing an older revision reloads (core.roster)."""
    event.reset_revision = next_revision(event)


def _sector_full(event: Event, sector_id: int | None) -> bool:
    """True when the participant's sector already has its quota of confirmed booths."""
    if sector_id is None:
        return False
    limit = db.session.scalar(select(EventQuota.max_booths).where(EventQuota.event_id == event.id,
                                                                  EventQuota.sector_id == sector_id))
    if limit is None:
        return False
    used = db.session.scalar(select(func.count()).select_from(Signup).join(Participant).where(
        Signup.event_id == event.id, Signup.status == "confirmed", Participant.sector_id == sector_id))
    return used >= limit


def _free_booth(event: Event) -> int | None:
    taken = set(db.session.scalars(select(Signup.booth).where(Signup.event_id == event.id,
                                                              Signup.status == "confirmed")))
    return next((n for n in range(1, event.booths + 1) if n not in taken), None)


def sign_up(event_id: int, participant: Participant, user, today: date | None = None) -> Signup:
    """Confirmed with the lowest free booth while booths remain, else waiting."""
    event = lock_event(event_id)
    today = today or today_wib()
    if not event.signup_opens <= today <= event.signup_closes:
        raise EventError(f"Pendaftaran acara ini dibuka {event.signup_opens:%d-%m-%Y} sampai "
                         f"{event.signup_closes:%d-%m-%Y}.")
    if participant.status != "active":
        raise EventError(f"{participant.name} belum diverifikasi (P1).")
    if not eligible(event, participant):
        raise EventError(f"{participant.name} tidak termasuk yang boleh mendaftar ({event.reach_label}).")
    check_step(participant, MARKET_STEP, who=participant.name,
               doing=f"belum dapat didaftarkan di {event.name} (hadir di acara mencatat P5 Pemasaran)")
    existing = db.session.scalars(select(Signup).where(Signup.event_id == event.id,
                                                       Signup.participant_id == participant.id)).first()
    if existing is not None and existing.status != "cancelled":
        raise EventError(f"{participant.name} sudah terdaftar di acara ini ({existing.status_label}).")
    booth = None if _sector_full(event, participant.sector_id) else _free_booth(event)
    signup = existing or Signup(event_id=event.id, participant_id=participant.id)
    signup.status = "confirmed" if booth else "waiting"
    signup.booth = booth
    signup.created_at = utcnow()
    signup.cancel_reason = None
    signup.created_by_id = getattr(user, "id", None)
    db.session.add(signup)
    db.session.flush()
    if booth:
        roster_changed(event)
    audit.record("signup.create", signup, kecamatan_id=participant.kecamatan_id,
                 changes={"status": {"before": None, "after": signup.status}, "booth": {"before": None, "after": booth}},
                 summary=f"{participant.name} mendaftar {event.name}: "
                         + (f"stan {booth}" if booth else "daftar tunggu"))
    return signup


def eligible(event: Event, participant: Participant) -> bool:
    if event.reach == "province":
        return True
    if event.reach == "kota":
        return participant.kecamatan.kota_id == event.kota_id
    return participant.kecamatan_id == event.kecamatan_id


def waiting_line(event_id: int) -> list[Signup]:
    """The waiting list in its fair order: first come, first served; with the event's fair-order
    setting, participants never confirmed at an earlier event go first and those who were confirmed
    at an earlier event but did not come go last (each group first come, first served)."""
    line = list(db.session.scalars(select(Signup).options(joinedload(Signup.participant))
                                   .where(Signup.event_id == event_id, Signup.status == "waiting")
                                   .order_by(Signup.created_at, Signup.id)))
    event = db.session.get(Event, event_id)
    if event.fair_order and line:
        line = _fair(event, line)
    # Hand-made moves (queue_rank) come first, in their order; later sign-ups keep the rules' order.
    return sorted(line, key=lambda s: (s.queue_rank is None, s.queue_rank or 0))


def _fair(event: Event, line: list[Signup]) -> list[Signup]:
    """First-timers, then those who came before, then earlier no-shows (stable: FCFS within each)."""
    ids = [s.participant_id for s in line]
    earlier = db.session.execute(
        select(Signup.participant_id, Signup.attended).join(Event, Event.id == Signup.event_id).where(
            Signup.participant_id.in_(ids), Signup.status == "confirmed", Signup.event_id != event.id,
            Event.ends_on < event.starts_on)).all()
    been = {pid for pid, _ in earlier}
    no_show = {pid for pid, attended in earlier if not attended}
    return sorted(line, key=lambda s: 2 if s.participant_id in no_show else (1 if s.participant_id in been else 0))


def cancel(signup: Signup, reason: str) -> Signup | None:
    """Cancel a sign-up; a freed booth goes to the first in line. Returns the promoted sign-up, if any."""
    reason = (reason or "").strip()
    event = lock_event(signup.event_id)
    db.session.refresh(signup)  # as a request that went first left it
    if signup.status == "cancelled":
        raise EventError("Pendaftaran ini sudah dibatalkan.", "reason")
    if not reason:
        raise EventError("Alasan pembatalan wajib diisi.", "reason")
    freed = signup.booth if signup.status == "confirmed" else None
    before = signup.status
    signup.status, signup.booth, signup.cancel_reason = "cancelled", None, reason[:300]
    db.session.flush()
    audit.record("signup.cancel", signup, kecamatan_id=signup.participant.kecamatan_id,
                 changes={"status": {"before": before, "after": "cancelled"}}, summary=f"Batal: {reason[:100]}")
    if freed is None:
        return None
    roster_changed(event)
    # The first in line whose sector is under its quota, and who may reach P5 (mode berurutan), gets the booth.
    line = waiting_line(event.id)
    blocked = missing_steps_for([s.participant_id for s in line], MARKET_STEP)
    for first in line:
        if _sector_full(event, first.participant.sector_id) or blocked.get(first.participant_id):
            continue
        first.status, first.booth, first.promoted_at = "confirmed", freed, utcnow()
        db.session.flush()
        audit.record("signup.promote", first, kecamatan_id=first.participant.kecamatan_id,
                     changes={"status": {"before": "waiting", "after": "confirmed"},
                              "booth": {"before": None, "after": freed}},
                     summary=f"Naik dari daftar tunggu ke stan {freed}")
        return first
    return None


def attendance_refusal(event: Event, by: Scope, today: date | None = None) -> EventError | None:
    """Why ``by`` may not record attendance at ``event`` (today, WIB), or None when they may.

    The one rule for every channel (the sign-up list, the phone roster, QR/number check-in) and for the
    pages that offer it: attendance is recorded by the organiser only (an organising role whose region
    holds the organising office: that kecamatan's desk, its kota's Sudin, the Dinas), never by the other
    kecamatan whose participants joined a kota- or province-wide event; and only from the event's first
    day on, marking or unmarking alike."""
    if by.role not in ORGANISER_ROLES or not event.organised_by(by):
        return EventError(f"Kehadiran di {event.name} hanya dapat dicatat oleh penyelenggaranya, "
                          f"Kecamatan {event.kecamatan.name}.", code=NOT_ORGANISER)
    if (today or today_wib()) < event.starts_on:
        return EventError(f"Kehadiran baru dapat dicatat mulai hari pertama acara, "
                          f"{tanggal(event.starts_on, weekday=True)}.", code=TOO_EARLY)
    return None


ATTENDANCE_LABELS = {True: "Hadir", False: "Belum hadir"}


def attendance_outcome(signup: Signup, attended: bool, by: Scope, at: datetime | None = None) -> Outcome:
    """One mark on an event's attendance list (a tap, perhaps made offline at ``at``), as a check-in
    outcome (see core.checkin). A mark older than the standing one loses and says so."""
    try:
        set_attended(signup, attended, by, at=at)
    except MarkSuperseded as lost:
        standing = lost.standing
        by_user = db.session.get(User, standing.attended_by_id) if standing.attended_by_id else None
        return Outcome(SUPERSEDED, signup=signup, participant=signup.participant, message=(
            f"Tanda {ATTENDANCE_LABELS[attended]} Anda tidak dipakai: {signup.participant.name} sudah ditandai "
            f"{ATTENDANCE_LABELS[standing.attended]}{f' oleh {by_user.full_name}' if by_user else ''} pukul "
            f"{to_wib(standing.attended_at).strftime('%H.%M')}, lebih baru."))
    except DomainError as err:
        return Outcome(REFUSED if err.code else BLOCKED, signup=signup, participant=signup.participant,
                       message=err.message, code=err.code)
    return Outcome(OK, signup=signup, participant=signup.participant)


def check_in(event: Event, typed: str, by: Scope, at: datetime | None = None) -> Outcome:
    """Hadir at the venue by a card's QR code or a typed registration number / NIK."""
    refusal = attendance_refusal(event, by)
    if refusal is not None:
        return Outcome(REFUSED, number=typed, message=refusal.message, code=refusal.code)
    key = checkin_key(typed)
    if key is None:
        return Outcome(INVALID, number=typed)
    number = key.value if key.kind == "reg_number" else typed
    signup = db.session.scalars(scoped(select(Signup), Signup, by).join(Participant).where(
        Signup.event_id == event.id, key.clause())).first()
    if signup is None:
        return Outcome(UNKNOWN, number=number)
    if signup.status != "confirmed":
        return Outcome(NOT_CONFIRMED, number=number, signup=signup, participant=signup.participant)
    if signup.attended:
        return Outcome(ALREADY, number=number, signup=signup, participant=signup.participant)
    outcome = attendance_outcome(signup, True, by, at)
    outcome.number = number
    return outcome


def set_attended(signup: Signup, attended: bool, by: Scope, today: date | None = None,
                 at: datetime | None = None) -> None:
    """Attending a market event completes P5 (the first one); undoing removes it again. Refused
    (EventError with its code) unless :func:`attendance_refusal` lets ``by`` record it. The later
    mark by the time it was made (``at``, on the device) wins: an older one raises MarkSuperseded
    and is kept in the audit (core.roster)."""
    event = signup.event
    refusal = attendance_refusal(event, by, today)
    if refusal is not None:
        raise refusal
    at = mark_time(at)
    revision = next_revision(event)  # the event row locked: the marks of one list take turns
    db.session.refresh(signup)  # as a mark that went first left it
    if signup.status != "confirmed":
        raise EventError("Hanya peserta terkonfirmasi yang dapat ditandai hadir.")
    participant = signup.participant
    before = signup.attended
    if attended and not before:
        check_step(participant, MARKET_STEP, who=participant.name, doing="kehadiran (P5 Pemasaran) belum dapat dicatat")
        day = _attendance_date(event, participant)
    key = {"id": signup.id}
    applied = write_if_later(Signup, key, {"attended": attended, "attended_at": at, "attended_by_id": by.user_id,
                                           "revision": revision}, create=False, when="attended_at")
    if applied is None:
        standing = standing_row(Signup, key)
        audit.record(SUPERSEDED_ACTION, signup, kecamatan_id=participant.kecamatan_id,
                     changes={"attended": {"before": attended, "after": standing.attended}},
                     summary=f"{participant.name}: tanda {ATTENDANCE_LABELS[attended]} pukul "
                             f"{to_wib(at).strftime('%H.%M.%S')} di {event.name} kalah oleh tanda "
                             f"{ATTENDANCE_LABELS[standing.attended]} yang lebih baru")
        raise MarkSuperseded(standing)
    if attended and not before:
        record_step(participant, MARKET_STEP, day, "event", signup.event_id)
    elif not attended and before:
        remove_step(participant, 5, "event", signup.event_id)
    if before != attended:
        audit.record("signup.attended", signup, kecamatan_id=participant.kecamatan_id,
                     changes={"attended": {"before": before, "after": attended}},
                     summary=("Hadir di " if attended else "Batal hadir di ") + event.name)


def _attendance_date(event: Event, participant: Participant) -> date:
    """P5's date: the event's first day, or the registration day when they registered during the event;
    never before P1 (a participant registered after the event cannot have attended it)."""
    registered = registration_date(participant)
    if registered is None or registered <= event.starts_on:
        return event.starts_on
    if registered <= event.ends_on:
        return registered
    raise EventError(f"{participant.name} baru terdaftar (P1) {tanggal(registered)}, sesudah acara ini; "
                     "kehadiran tidak dapat dicatat.")


def step_blocks(event_id: int, signups: list[Signup] | None = None) -> dict[int, str]:
    """Sign-up id → why it cannot be marked present (confirmed) or promoted (waiting) under the step
    rule, e.g. sign-ups made before the mode became berurutan. One query for the steps of all."""
    if signups is None:
        signups = list(db.session.scalars(select(Signup).where(Signup.event_id == event_id,
                                                               Signup.status != "cancelled")))
    rows = [s for s in signups if s.status != "cancelled" and not (s.status == "confirmed" and s.attended)]
    missing = missing_steps_for({s.participant_id for s in rows}, MARKET_STEP)
    return {s.id: missing_steps_phrase(missing[s.participant_id]) for s in rows if missing.get(s.participant_id)}


def attendance_counts(event_id: int) -> dict[str, int]:
    """The attendance list's counters (present, not yet, confirmed in all) in one grouped query."""
    rows = db.session.execute(select(Signup.attended, func.count()).where(
        Signup.event_id == event_id, Signup.status == "confirmed").group_by(Signup.attended)).all()
    present = sum(n for attended, n in rows if attended)
    total = sum(n for _, n in rows)
    return {"hadir": present, "belum": total - present, "total": total}


def counts(event_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Signup.status, func.count()).where(Signup.event_id == event_id)
                              .group_by(Signup.status)).all()
    result = {"confirmed": 0, "waiting": 0, "cancelled": 0}
    result.update(dict(rows))
    return result


def move(signup: Signup, direction: int, reason: str) -> None:
    """Move a waiting sign-up one place up (-1) or down (+1) in the line, with a reason (audited)."""
    reason = (reason or "").strip()
    lock_event(signup.event_id)
    db.session.refresh(signup)
    if signup.status != "waiting":
        raise EventError("Hanya peserta di daftar tunggu yang dapat dipindah urutannya.")
    if not reason:
        raise EventError("Alasan pemindahan wajib diisi.", "reason")
    line = waiting_line(signup.event_id)
    index = next(i for i, s in enumerate(line) if s.id == signup.id)
    target = index + direction
    if not 0 <= target < len(line):
        raise EventError("Peserta ini sudah di ujung daftar tunggu.")
    line[index], line[target] = line[target], line[index]
    for rank, s in enumerate(line):
        s.queue_rank = rank
    audit.record("signup.move", signup, kecamatan_id=signup.participant.kecamatan_id,
                 changes={"place": {"before": index + 1, "after": target + 1}, "reason": {"before": None, "after": reason[:300]}},
                 summary=f"Urutan daftar tunggu {index + 1} → {target + 1}: {reason[:100]}")


def update_event(event: Event, name: str, venue: str, starts_on, ends_on, booths, opens, closes) -> dict:
    """Change an event; booths can never drop below the confirmed sign-ups (the count is named)."""
    lock_event(event.id)
    errors = []
    if not (name or "").strip():
        errors.append(("name", "Nama acara wajib diisi."))
    if not (venue or "").strip():
        errors.append(("venue", "Tempat wajib diisi."))
    if starts_on is None or ends_on is None:
        errors.append(("ends_on", "Isi tanggal mulai dan selesai."))
    elif ends_on < starts_on:
        errors.append(("ends_on", "Tanggal selesai tidak boleh sebelum tanggal mulai."))
    if opens is None or closes is None:
        errors.append(("signup_closes", "Isi masa pendaftaran (buka dan tutup)."))
    elif closes < opens:
        errors.append(("signup_closes", "Pendaftaran ditutup sebelum dibuka."))
    confirmed = counts(event.id)["confirmed"]
    top_booth = db.session.scalar(select(func.max(Signup.booth)).where(Signup.event_id == event.id,
                                                                        Signup.status == "confirmed")) or 0
    if booths is None or not 1 <= booths <= 5000:
        errors.append(("booths", "Jumlah stan antara 1 dan 5.000."))
    elif booths < confirmed:
        errors.append(("booths", f"Sudah ada {confirmed} peserta terkonfirmasi; jumlah stan tidak boleh kurang dari itu."))
    elif booths < top_booth:
        errors.append(("booths", f"Stan nomor {top_booth} sudah terisi; pindahkan dulu pesertanya ke stan yang lebih kecil."))
    if errors:
        raise EventError.of(errors)
    before = audit.snapshot(event)
    event.name, event.venue, event.starts_on, event.ends_on = name.strip(), venue.strip(), starts_on, ends_on
    event.booths, event.signup_opens, event.signup_closes = booths, opens, closes
    changes = audit.diff(before, event)
    if changes:
        audit.record("event.update", event, changes=changes, summary=f"Acara {event.name} diubah")
        db.session.flush()
        fill_free_booths(event)
        roster_changed(event)
    return changes


def fill_free_booths(event: Event) -> list[Signup]:
    """After booths were added, the line moves up into them (quotas respected)."""
    promoted = []
    line = waiting_line(event.id)
    blocked = missing_steps_for([s.participant_id for s in line], MARKET_STEP)
    for waiting in line:
        booth = _free_booth(event)
        if booth is None:
            break
        if _sector_full(event, waiting.participant.sector_id) or blocked.get(waiting.participant_id):
            continue
        waiting.status, waiting.booth, waiting.promoted_at = "confirmed", booth, utcnow()
        db.session.flush()
        audit.record("signup.promote", waiting, kecamatan_id=waiting.participant.kecamatan_id,
                     changes={"status": {"before": "waiting", "after": "confirmed"}, "booth": {"before": None, "after": booth}},
                     summary=f"Naik dari daftar tunggu ke stan {booth} (stan ditambah)")
        promoted.append(waiting)
    return promoted


def assign_booth(signup: Signup, booth: int | None) -> None:
    """Give a confirmed sign-up another (free) booth number by hand."""
    event = lock_event(signup.event_id)
    if signup.status != "confirmed":
        raise EventError("Hanya peserta terkonfirmasi yang mendapat nomor stan.")
    if booth is None or not 1 <= booth <= event.booths:
        raise EventError(f"Nomor stan antara 1 dan {event.booths}.")
    taken = db.session.scalars(select(Signup).where(Signup.event_id == event.id, Signup.status == "confirmed",
                                                    Signup.booth == booth, Signup.id != signup.id)).first()
    if taken is not None:
        raise EventError(f"Stan {booth} sudah dipakai {taken.participant.name}.")
    before = signup.booth
    signup.booth = booth
    roster_changed(event)
    audit.record("signup.booth", signup, kecamatan_id=signup.participant.kecamatan_id,
                 changes={"booth": {"before": before, "after": booth}}, summary=f"Stan {before} → {booth}")
