"""Training rules: courses, capacity, marks, closing, completion (P2) and certificates."""
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..core import audit
from ..core.checkin import ALREADY, BLOCKED, FULL, INVALID, NOT_ENROLLED, OK, SUPERSEDED, UNKNOWN, Outcome
from ..core.errors import DomainError
from ..core.db import lock_row, run_prepared
from ..core.roster import SUPERSEDED_ACTION, MarkSuperseded, mark_time, next_revision, standing_row, write_if_later
from ..core.scoping import scoped
from ..core.access import ADMIN, FACILITATOR, STAFF
from ..core.sequences import next_values
from ..core.timeutil import to_wib, today_wib, utcnow
from ..extensions import db
from ..participants.models import Participant, ParticipantStep
from ..participants.services import check_step, check_step_date, checkin_key, record_step
from ..regions.models import Kecamatan
from .models import ABSENT, ATTENDED, STATUS_LABELS, Attendance, Certificate, Course, Enrollment, Meeting

CERT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class TrainingError(DomainError):
    """A rule of this domain broken (see DomainError)."""


@dataclass
class MeetingInput:
    date: date | None
    start_time: time | None
    end_time: time | None
    venue: str
    capacity: int | None


def facilitator_choices(kecamatan_id: int) -> list[tuple[int, str]]:
    stmt = select(User).where(User.role == FACILITATOR, User.active.is_(True), User.kecamatan_id == kecamatan_id
                              ).order_by(User.full_name)
    return [(u.id, u.full_name) for u in db.session.scalars(stmt)]


def check_meetings(meetings: list[MeetingInput]) -> dict[int, dict[str, str]]:
    """Errors per meeting index and field (empty when all are fine)."""
    errors: dict[int, dict[str, str]] = {}
    for index, m in enumerate(meetings):
        e = {}
        if m.date is None:
            e["date"] = "Tanggal wajib diisi."
        if m.start_time is None:
            e["start_time"] = "Jam mulai wajib diisi."
        if m.end_time is None:
            e["end_time"] = "Jam selesai wajib diisi."
        if m.start_time and m.end_time and m.end_time <= m.start_time:
            e["end_time"] = "Jam selesai harus setelah jam mulai."
        if not (m.venue or "").strip():
            e["venue"] = "Tempat wajib diisi."
        if m.capacity is None or not 1 <= m.capacity <= 1000:
            e["capacity"] = "Kapasitas antara 1 dan 1.000."
        if e:
            errors[index] = e
    return errors


def create_course(title: str, topic: str, kecamatan: Kecamatan, facilitator_id: int | None,
                  min_meetings: int | None, meetings: list[MeetingInput], user) -> Course:
    if facilitator_id and facilitator_id not in dict(facilitator_choices(kecamatan.id)):
        raise TrainingError("Fasilitator harus pengguna aktif kecamatan ini.", "facilitator_id")
    if min_meetings and min_meetings > len(meetings):
        raise TrainingError(f"Aturan lulus tidak boleh lebih dari jumlah pertemuan ({len(meetings)}).", "min_meetings")
    course = Course(title=title.strip(), topic=(topic or "").strip(), kecamatan_id=kecamatan.id,
                    facilitator_id=facilitator_id or None, min_meetings=min_meetings or None,
                    created_by_id=getattr(user, "id", None))
    for number, m in enumerate(sorted(meetings, key=lambda m: (m.date, m.start_time)), start=1):
        course.meetings.append(Meeting(number=number, date=m.date, start_time=m.start_time, end_time=m.end_time,
                                       venue=m.venue.strip(), capacity=m.capacity))
    db.session.add(course)
    db.session.flush()
    audit.record("course.create", course, changes={"title": {"before": None, "after": course.title},
                                                   "meetings": {"before": None, "after": len(meetings)}},
                 summary=f"Pelatihan {course.title} dibuat")
    return course


def update_rule(course: Course, facilitator_id: int | None, min_meetings: int | None) -> dict:
    if facilitator_id and facilitator_id not in dict(facilitator_choices(course.kecamatan_id)):
        raise TrainingError("Fasilitator harus pengguna aktif kecamatan ini.", "facilitator_id")
    if min_meetings and min_meetings > len(course.meetings):
        raise TrainingError(f"Aturan lulus tidak boleh lebih dari jumlah pertemuan ({len(course.meetings)}).",
                            "min_meetings")
    before = audit.snapshot(course)
    course.facilitator_id = facilitator_id or None
    course.min_meetings = min_meetings or None
    changes = audit.diff(before, course)
    if changes:
        audit.record("course.update", course, changes=changes, summary="Aturan/fasilitator pelatihan diubah")
        db.session.flush()
        for enrollment in course.enrollments:
            sync_completion(enrollment)
    return changes


# --- Enrolment ------------------------------------------------------------------------------

def lock_course(course_id: int) -> Course:
    """The course row, locked until commit so that capacity checks cannot race."""
    return lock_row(Course, course_id)


TRAINING_STEP = 2  # completing a course records P2 Pelatihan


def enrol_refusal(course: Course, participant: Participant) -> str | None:
    """Why ``participant`` cannot be enrolled in ``course`` (seats aside), or None."""
    if participant.status != "active":
        return f"{participant.name} belum diverifikasi (P1), jadi belum dapat ikut pelatihan."
    if participant.kecamatan_id != course.kecamatan_id:
        return f"{participant.name} terdaftar di kecamatan lain."
    try:
        check_step(participant, TRAINING_STEP, who=participant.name, doing="belum dapat ikut pelatihan")
    except DomainError as err:
        return err.message
    return None


def enroll(course: Course, participants: list[Participant], user) -> tuple[list[Enrollment], list[str]]:
    """Enrol active participants of the course's kecamatan; returns (added, problems).

    All or nothing on seats: when more can be enrolled than seats remain, nobody is added and one
    problem says by how many the choice is too large (a class has no waiting list)."""
    lock_course(course.id)
    taken = set(db.session.scalars(select(Enrollment.participant_id).where(Enrollment.course_id == course.id)))
    seats = course.capacity - len(taken)
    problems, fit = [], []
    for p in participants:
        if p.id in taken:
            problems.append(f"{p.name} sudah terdaftar di pelatihan ini.")
        elif (refusal := enrol_refusal(course, p)) is not None:
            problems.append(refusal)
        elif p.id not in {q.id for q in fit}:
            fit.append(p)
    if len(fit) > seats:
        if seats <= 0:
            message = f"Kelas penuh ({course.capacity} kursi): " + (
                f"{fit[0].name} tidak ditambahkan." if len(fit) == 1 else "tidak ada peserta yang ditambahkan.")
        else:
            message = (f"Dipilih {len(fit)} peserta, sisa kursi {seats}: tidak ada yang ditambahkan. "
                       f"Kurangi pilihan {len(fit) - seats} peserta.")
        return [], [message] + problems
    added = []
    for p in fit:
        enrollment = Enrollment(course_id=course.id, participant_id=p.id, enrolled_by_id=getattr(user, "id", None))
        db.session.add(enrollment)
        added.append(enrollment)
    db.session.flush()
    for enrollment in added:
        audit.record("enrollment.create", enrollment, kecamatan_id=course.kecamatan_id,
                     changes={"participant_id": {"before": None, "after": enrollment.participant_id}},
                     summary=f"Didaftarkan ke pelatihan {course.title}")
    return added, problems


def unenroll(enrollment: Enrollment) -> None:
    course = enrollment.course
    participant = enrollment.participant
    audit.record("enrollment.delete", enrollment, kecamatan_id=course.kecamatan_id,
                 changes={"participant_id": {"before": enrollment.participant_id, "after": None}},
                 summary=f"{participant.name} dikeluarkan dari pelatihan {course.title}")
    db.session.execute(delete(Attendance).where(Attendance.enrollment_id == enrollment.id))
    db.session.delete(enrollment)
    db.session.flush()
    _resync_p2(participant)


# --- Marking ---------------------------------------------------------------------------------

def may_mark(meeting: Meeting, user) -> str | None:
    """None when ``user`` may mark this meeting now, else the reason (Indonesian)."""
    if user.role in (STAFF, ADMIN):
        return None
    if meeting.is_closed:
        return "Pertemuan ini sudah ditutup. Buka kembali pertemuan, atau minta petugas kecamatan mengubahnya."
    if meeting.date > today_wib():
        return "Pertemuan ini belum berlangsung; kehadiran dapat ditandai pada harinya."
    return None


def mark_outcome(meeting: Meeting, enrollment: Enrollment, status: str, user,
                 at: datetime | None = None) -> Outcome:
    """One mark on a meeting's roster (a tap, perhaps made offline at ``at``), as a check-in
    outcome (see core.checkin). A mark older than the standing one loses and says so."""
    try:
        mark(meeting, enrollment, status, user, at)
    except MarkSuperseded as lost:
        standing = lost.standing
        by = db.session.get(User, standing.marked_by_id) if standing.marked_by_id else None
        return Outcome(SUPERSEDED, participant=enrollment.participant, status=standing.status, message=(
            f"Tanda {STATUS_LABELS[status]} Anda tidak dipakai: {enrollment.participant.name} sudah ditandai "
            f"{STATUS_LABELS[standing.status]}{f' oleh {by.full_name}' if by else ''} pukul "
            f"{to_wib(standing.marked_at).strftime('%H.%M')}, lebih baru."))
    except DomainError as err:
        return Outcome(BLOCKED, participant=enrollment.participant, message=err.message)
    return Outcome(OK, participant=enrollment.participant, status=status)


def check_in(meeting: Meeting, typed: str, user, enrol_now: bool = False, at: datetime | None = None) -> Outcome:
    """Hadir by a card's QR code or a typed registration number / NIK; with ``enrol_now`` a
    participant of the organising kecamatan not yet on the course is enrolled on the spot."""
    key = checkin_key(typed)
    if key is None:
        return Outcome(INVALID, number=typed)
    # The number as printed (or the NIK as typed): the "enrol now" form posts it back.
    number = key.value if key.kind == "reg_number" else typed
    participant = db.session.scalars(select(Participant).where(
        key.clause(), Participant.of_kecamatan([meeting.course.kecamatan_id]))).first()
    if participant is None:
        return Outcome(UNKNOWN, number=number)
    number = participant.reg_number or number
    enrollment = db.session.scalars(select(Enrollment).where(Enrollment.course_id == meeting.course_id,
                                                             Enrollment.participant_id == participant.id)).first()
    if enrollment is None:
        if not enrol_now:
            seats = meeting.course.capacity - len(meeting.course.enrollments)
            return Outcome(NOT_ENROLLED, number=number, participant=participant, seats=seats)
        added, problems = enroll(meeting.course, [participant], user)
        if not added:
            return Outcome(FULL, number=number, participant=participant, message=" ".join(problems))
        enrollment = added[0]
    existing = db.session.scalars(select(Attendance.status).where(Attendance.meeting_id == meeting.id,
                                                                  Attendance.enrollment_id == enrollment.id)).first()
    if existing in ATTENDED:
        return Outcome(ALREADY, number=number, participant=participant, status=existing)
    outcome = mark_outcome(meeting, enrollment, "hadir", user, at)
    outcome.number = number
    return outcome


_STANDING_MARK = select(Attendance.status).where(Attendance.meeting_id == bindparam("meeting_id"),
                                                Attendance.enrollment_id == bindparam("enrollment_id"))


def mark(meeting: Meeting, enrollment: Enrollment, status: str, user, at: datetime | None = None) -> int:
    """Set one mark (insert or update that single row) and re-evaluate completion. The later mark
    by the time it was made wins: an older one raises MarkSuperseded (and is kept in the audit)."""
    if status not in STATUS_LABELS:
        raise TrainingError("Status kehadiran tidak dikenal.")
    if enrollment.course_id != meeting.course_id:
        raise TrainingError("Peserta ini tidak terdaftar di pelatihan ini.")
    reason = may_mark(meeting, user)
    if reason:
        raise TrainingError(reason)
    if status in ATTENDED:
        check_step_date(enrollment.participant, meeting.date, f"Kehadiran di pertemuan {meeting.number}")
    at = mark_time(at)
    revision = next_revision(meeting)
    # The standing mark, for the audit (the tap loaded the meeting with its course).
    previous = run_prepared(_STANDING_MARK, {"meeting_id": meeting.id, "enrollment_id": enrollment.id}).scalar()
    key = {"meeting_id": meeting.id, "enrollment_id": enrollment.id}
    applied = write_if_later(Attendance, key, {"status": status, "automatic": False, "marked_by_id": user.id,
                                               "marked_at": at, "revision": revision})
    if applied is None:
        standing = standing_row(Attendance, key)
        audit.record(SUPERSEDED_ACTION, entity_type="attendance", entity_id=enrollment.id,
                     kecamatan_id=meeting.course.kecamatan_id,
                     changes={"status": {"before": status, "after": standing.status},
                              "meeting": {"before": None, "after": meeting.number}},
                     summary=f"{enrollment.participant.name}: tanda {STATUS_LABELS[status]} pukul "
                             f"{to_wib(at).strftime('%H.%M.%S')} di pertemuan {meeting.number} kalah oleh tanda "
                             f"{STATUS_LABELS[standing.status]} yang lebih baru")
        raise MarkSuperseded(standing)
    note = " (pertemuan ditutup/belum berlangsung)" if meeting.is_closed or meeting.date > today_wib() else ""
    audit.record("attendance.mark", entity_type="attendance", entity_id=enrollment.id,
                 kecamatan_id=meeting.course.kecamatan_id,
                 changes={"status": {"before": previous, "after": status}, "meeting": {"before": None, "after": meeting.number}},
                 summary=f"{enrollment.participant.name}: {STATUS_LABELS[status]} di pertemuan {meeting.number}{note}")
    db.session.flush()
    sync_completion(enrollment)
    return applied


def close_meeting(meeting: Meeting, user) -> int:
    """Close: every unmarked enrolment becomes Tidak hadir (automatic, visible). Returns how many."""
    if meeting.is_closed:
        return 0
    revision = next_revision(meeting)
    meeting.reset_revision = revision  # every open screen reloads
    marked = set(db.session.scalars(select(Attendance.enrollment_id).where(Attendance.meeting_id == meeting.id)))
    missing = [e for e in meeting.course.enrollments if e.id not in marked]
    now = utcnow()
    for e in missing:
        db.session.add(Attendance(meeting_id=meeting.id, enrollment_id=e.id, status=ABSENT, automatic=True,
                                  marked_by_id=user.id, marked_at=now, revision=revision))
    meeting.closed_at = now
    meeting.closed_by_id = user.id
    audit.record("meeting.close", meeting, kecamatan_id=meeting.course.kecamatan_id,
                 changes={"automatic_absent": {"before": None, "after": len(missing)}},
                 summary=f"Pertemuan {meeting.number} {meeting.course.title} ditutup; {len(missing)} otomatis tidak hadir")
    db.session.flush()
    for e in meeting.course.enrollments:
        sync_completion(e)
    return len(missing)


def reopen_meeting(meeting: Meeting) -> int:
    """Reopen: the automatic Tidak hadir marks are removed again. Returns how many."""
    if not meeting.is_closed:
        return 0
    meeting.reset_revision = next_revision(meeting)  # rows go away: every open screen reloads
    removed = db.session.execute(delete(Attendance).where(Attendance.meeting_id == meeting.id,
                                                          Attendance.automatic.is_(True))).rowcount
    meeting.closed_at = None
    meeting.closed_by_id = None
    audit.record("meeting.reopen", meeting, kecamatan_id=meeting.course.kecamatan_id,
                 changes={"automatic_absent_removed": {"before": None, "after": removed}},
                 summary=f"Pertemuan {meeting.number} {meeting.course.title} dibuka kembali")
    db.session.flush()
    return removed


# --- Completion (P2) ---------------------------------------------------------------------------

# Every meeting of a course with one enrolment's mark (the completion rule needs their number).
_MARKS_OF_ENROLMENT = (select(Meeting.date, Attendance.status)
                       .outerjoin(Attendance, and_(Attendance.meeting_id == Meeting.id,
                                                   Attendance.enrollment_id == bindparam("enrollment_id")))
                       .where(Meeting.course_id == bindparam("course_id")))


def completion_date(enrollment: Enrollment) -> date | None:
    """The date of the meeting at which the course's rule was met, or None."""
    course = enrollment.course
    meetings = run_prepared(_MARKS_OF_ENROLMENT, {"enrollment_id": enrollment.id, "course_id": course.id}).all()
    dates = sorted(day for day, status in meetings if status in ATTENDED)
    required = course.required_meetings(len(meetings))
    return dates[required - 1] if required and len(dates) >= required else None


def sync_completion(enrollment: Enrollment) -> None:
    done = completion_date(enrollment)
    if done == enrollment.completed_on:
        return
    enrollment.completed_on = done
    db.session.flush()
    _resync_p2(enrollment.participant)


def _resync_p2(participant: Participant) -> None:
    """P2 comes from the earliest completed course; removed when none is complete any more."""
    earliest = db.session.execute(
        select(Enrollment.completed_on, Enrollment.course_id).where(
            Enrollment.participant_id == participant.id, Enrollment.completed_on.is_not(None))
        .order_by(Enrollment.completed_on, Enrollment.course_id).limit(1)).first()
    step = db.session.scalars(select(ParticipantStep).where(ParticipantStep.participant_id == participant.id,
                                                            ParticipantStep.step == 2)).first()
    if earliest is None:
        if step is not None and step.source == "course":
            db.session.delete(step)
            db.session.flush()
            db.session.expire(participant, ["steps"])
        return
    if step is None:
        db.session.expire(participant, ["steps"])
        record_step(participant, 2, earliest.completed_on, "course", earliest.course_id)
    elif step.source == "course":
        step.completed_on, step.source_id = earliest.completed_on, earliest.course_id
    db.session.flush()


# --- Certificates --------------------------------------------------------------------------

def _code() -> str:
    return "".join(secrets.choice(CERT_ALPHABET) for _ in range(10))


def issue_certificates(course: Course, enrollments: list[Enrollment], user) -> list[Certificate]:
    """The certificates of ``enrollments`` (all completed), issuing those that are missing; an
    existing certificate is kept with its number. Exactly once per course and participant: the
    course row is locked before the existing certificates are read (on SQLite a writing request
    already holds the write lock), so a request that waited sees what the first one issued; the
    unique key (course, participant) stands behind the lock."""
    incomplete = [e.participant.name for e in enrollments if e.completed_on is None]
    if incomplete:
        raise TrainingError("Sertifikat hanya untuk peserta yang lulus; belum lulus: " + ", ".join(incomplete[:5])
                            + (" …" if len(incomplete) > 5 else ""))
    lock_course(course.id)
    _issue_missing(course, [e.participant_id for e in enrollments], user)
    existing = _certificates_by_participant(course.id)
    return [existing[e.participant_id] for e in enrollments]


def issue_for_graduates(course: Course, user) -> list[Certificate]:
    """Issue a certificate to every graduate of ``course`` who has none yet; returns the new ones
    (none when another request issued them first)."""
    lock_course(course.id)
    graduates = db.session.scalars(select(Enrollment.participant_id).join(Participant).where(
        Enrollment.course_id == course.id, Enrollment.completed_on.is_not(None))
        .order_by(Participant.name_key, Participant.id)).all()
    return _issue_missing(course, list(graduates), user)


def waiting_for_certificate(course: Course) -> list[Enrollment]:
    """Graduates of ``course`` without a certificate, by name: what issuing would issue now."""
    has_one = select(Certificate.id).where(Certificate.course_id == Enrollment.course_id,
                                           Certificate.participant_id == Enrollment.participant_id).exists()
    return list(db.session.scalars(select(Enrollment).join(Participant).options(joinedload(Enrollment.participant))
                                   .where(Enrollment.course_id == course.id, Enrollment.completed_on.is_not(None),
                                          ~has_one)
                                   .order_by(Participant.name_key, Participant.id)))


def standing():
    """A certificate stands while its holder's enrolment in the course is complete: attendance
    corrected below the course's rule (or the enrolment removed) after it was issued voids it.
    It keeps its number and code; it is no longer printed, and its public check says so."""
    return (select(Enrollment.id).where(Enrollment.course_id == Certificate.course_id,
                                        Enrollment.participant_id == Certificate.participant_id,
                                        Enrollment.completed_on.is_not(None)).exists())


def is_standing(certificate: Certificate) -> bool:
    return bool(db.session.scalar(select(standing()).where(Certificate.id == certificate.id)))


def issued_certificates(course: Course) -> list[Certificate]:
    """The standing certificates of ``course``, by participant name (what its PDF prints)."""
    return list(db.session.scalars(select(Certificate).join(Participant, Certificate.participant_id == Participant.id)
                                   .options(joinedload(Certificate.participant))
                                   .where(Certificate.course_id == course.id, standing())
                                   .order_by(Participant.name_key, Participant.id)))


def _certificates_by_participant(course_id: int) -> dict[int, Certificate]:
    return {c.participant_id: c for c in db.session.scalars(
        select(Certificate).options(joinedload(Certificate.participant)).where(Certificate.course_id == course_id))}


def _issue_missing(course: Course, participant_ids: list[int], user) -> list[Certificate]:
    """Certificates for those of ``participant_ids`` who have none, numbered in that order. Call
    with the course locked. Should an insert still meet the unique key (a writer that did not
    lock), its savepoint is rolled back, numbers included, and the certificates are read again."""
    for _attempt in range(3):
        existing = set(db.session.scalars(select(Certificate.participant_id)
                                          .where(Certificate.course_id == course.id)))
        new = [pid for pid in dict.fromkeys(participant_ids) if pid not in existing]
        if not new:
            return []
        year = today_wib().year
        prefix = course.kecamatan.nik_prefix
        try:
            with db.session.begin_nested():
                numbers = next_values(f"cert:{prefix}:{year}", len(new))
                issued = [Certificate(code=_code(), number=f"{sequence:05d}/SERT-PKT/{prefix}/{year}",
                                      course_id=course.id, participant_id=pid, kecamatan_id=course.kecamatan_id,
                                      issued_by_id=getattr(user, "id", None)) for pid, sequence in zip(new, numbers)]
                db.session.add_all(issued)
                db.session.flush()
        except IntegrityError:
            continue
        audit.record("certificate.issue", entity_type="course", entity_id=course.id, kecamatan_id=course.kecamatan_id,
                     changes={"issued": {"before": None, "after": len(new)}},
                     summary=f"{len(new)} sertifikat baru untuk {course.title}")
        return issued
    raise TrainingError("Sertifikat sedang diterbitkan oleh petugas lain. Muat ulang halaman dan coba lagi.")


def find_certificate(code: str) -> Certificate | None:
    code = (code or "").strip().upper()
    if not (8 <= len(code) <= 16) or any(ch not in CERT_ALPHABET for ch in code):
        return None
    return db.session.scalars(select(Certificate).options(
        joinedload(Certificate.participant), joinedload(Certificate.course)).where(Certificate.code == code)).first()


@dataclass
class Agenda:
    """The meetings a user sees on their home page: today's, then the next ones, with enrolment counts."""
    today: date
    today_meetings: list
    next_meetings: list
    enrolled: dict


def agenda(today: date | None = None, upcoming: int = 5) -> Agenda:
    """Today's meetings and the next ``upcoming`` after today, within the current user's scope (a
    facilitator: only the courses they run), earliest first."""
    today = today or today_wib()
    base = (scoped(select(Meeting), Meeting).join(Course)
            .options(joinedload(Meeting.course)).order_by(Meeting.date, Meeting.start_time, Meeting.id))
    today_meetings = db.session.scalars(base.where(Meeting.date == today)).all()
    next_meetings = db.session.scalars(base.where(Meeting.date > today).limit(upcoming)).all()
    course_ids = {m.course_id for m in (*today_meetings, *next_meetings)}
    enrolled = dict(db.session.execute(
        select(Enrollment.course_id, func.count()).where(Enrollment.course_id.in_(course_ids))
        .group_by(Enrollment.course_id)).all()) if course_ids else {}
    return Agenda(today, today_meetings, next_meetings, enrolled)
