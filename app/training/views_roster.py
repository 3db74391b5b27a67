"""The roster of a meeting (phone first), one-tap marks, closing, and check-in by QR or number."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, FACILITATOR, STAFF, roles_required
from ..core.htmx import render, wants_fragment
from ..core.scoping import get_or_404
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import checkin_key
from . import bp
from .models import ATTENDED, STATUS_LABELS, Attendance, Enrollment, Meeting
from .services import TrainingError, close_meeting, enroll, mark, may_mark, reopen_meeting

MARK_ROLES = (ADMIN, STAFF, FACILITATOR)


def roster_rows(meeting: Meeting) -> list[dict]:
    """Every enrolment with its number (the sign-in sheet's order: by name) and this meeting's mark."""
    enrollments = db.session.scalars(select(Enrollment).join(Participant).options(
        joinedload(Enrollment.participant).joinedload(Participant.kelurahan))
        .where(Enrollment.course_id == meeting.course_id).order_by(Participant.name_key, Participant.id)).all()
    marks = {a.enrollment_id: a for a in db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))}
    return [{"number": i, "enrollment": e, "p": e.participant, "mark": marks.get(e.id)}
            for i, e in enumerate(enrollments, start=1)]


def counts(rows) -> dict:
    result = {status: 0 for status in STATUS_LABELS}
    result["belum"] = 0
    for row in rows:
        result[row["mark"].status if row["mark"] else "belum"] += 1
    result["total"] = len(rows)
    result["attended"] = result["hadir"] + result["terlambat"]
    return result


@bp.get("/pertemuan/<int:meeting_id>")
@roles_required(*MARK_ROLES)
def roster(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    rows = roster_rows(meeting)
    total = counts(rows)
    only_unmarked = request.args.get("filter") == "belum"
    term = (request.args.get("q") or "").strip().lower()[:60]
    shown = [r for r in rows if (not only_unmarked or r["mark"] is None)
             and (not term or term in r["p"].name.lower() or term in (r["p"].reg_number or "").lower())]
    return render("training/roster.html", "training/_roster_rows.html", meeting=meeting, rows=shown, counts=total,
                  only_unmarked=only_unmarked, term=term, blocked=may_mark(meeting, current_user),
                  labels=STATUS_LABELS)


@bp.post("/pertemuan/<int:meeting_id>/tandai/<int:enrollment_id>")
@roles_required(*MARK_ROLES)
def mark_one(meeting_id: int, enrollment_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    enrollment = get_or_404(Enrollment, enrollment_id)
    status = request.form.get("status", "")
    error = None
    try:
        mark(meeting, enrollment, status, current_user)
    except TrainingError as err:
        db.session.rollback()
        error = err.message
    else:
        db.session.commit()
    if not wants_fragment():
        if error:
            flash(error, "error")
        return redirect(url_for("training.roster", meeting_id=meeting.id, **({"filter": request.args["filter"]}
                                                                              if request.args.get("filter") else {})))
    rows = roster_rows(meeting)
    row = next((r for r in rows if r["enrollment"].id == enrollment.id), None)
    return render_template("training/_roster_row_update.html", meeting=meeting, row=row, counts=counts(rows),
                           error=error, labels=STATUS_LABELS, blocked=may_mark(meeting, current_user)), 422 if error else 200


@bp.post("/pertemuan/<int:meeting_id>/tutup")
@roles_required(*MARK_ROLES)
def close(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    count = close_meeting(meeting, current_user)
    db.session.commit()
    flash(f"Pertemuan ditutup. {count} peserta yang belum ditandai dicatat Tidak hadir (dapat dibatalkan dengan "
          "membuka kembali pertemuan).", "success")
    return redirect(url_for("training.roster", meeting_id=meeting.id))


@bp.post("/pertemuan/<int:meeting_id>/buka")
@roles_required(*MARK_ROLES)
def reopen(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    removed = reopen_meeting(meeting)
    db.session.commit()
    flash(f"Pertemuan dibuka kembali; {removed} tanda Tidak hadir otomatis dihapus.", "success")
    return redirect(url_for("training.roster", meeting_id=meeting.id))


@bp.route("/pertemuan/<int:meeting_id>/check-in", methods=["GET", "POST"])
@roles_required(*MARK_ROLES)
def checkin(meeting_id: int):
    """Scan the card's QR (the registration number) or type it; marks Hadir with a clear confirmation."""
    meeting = get_or_404(Meeting, meeting_id)
    result = None
    if request.method == "POST":
        result = _checkin(meeting, (request.form.get("reg_number") or "").strip()[:40],
                          enrol_now=request.form.get("enrol") == "1")
    rows = roster_rows(meeting)
    status = 422 if result and result["kind"] in ("invalid", "unknown", "blocked", "full") else 200
    return render("training/checkin.html", "training/_checkin_result.html", meeting=meeting, result=result,
                  counts=counts(rows)), status


def _checkin(meeting: Meeting, typed: str, enrol_now: bool) -> dict:
    key = checkin_key(typed)
    if key is None:
        return {"kind": "invalid", "number": typed}
    # The number as printed (or the NIK as typed): the roster's "enrol now" form posts it back.
    number = key.value if key.kind == "reg_number" else typed
    participant = db.session.scalars(select(Participant).where(
        key.clause(), Participant.of_kecamatan([meeting.course.kecamatan_id]))).first()
    if participant is None:
        return {"kind": "unknown", "number": number}
    number = participant.reg_number or number
    enrollment = db.session.scalars(select(Enrollment).where(Enrollment.course_id == meeting.course_id,
                                                             Enrollment.participant_id == participant.id)).first()
    if enrollment is None:
        if not enrol_now:
            seats = meeting.course.capacity - len(meeting.course.enrollments)
            return {"kind": "not_enrolled", "p": participant, "number": number, "seats": seats}
        added, problems = enroll(meeting.course, [participant], current_user)
        if not added:
            db.session.rollback()
            return {"kind": "full", "p": participant, "number": number, "message": " ".join(problems)}
        enrollment = added[0]
    existing = db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                           Attendance.enrollment_id == enrollment.id)).first()
    if existing is not None and existing.status in ATTENDED:
        db.session.commit()
        return {"kind": "already", "p": participant, "status": existing.status, "number": number}
    try:
        mark(meeting, enrollment, "hadir", current_user)
    except TrainingError as err:
        db.session.rollback()
        return {"kind": "blocked", "p": participant, "number": number, "message": err.message}
    db.session.commit()
    return {"kind": "ok", "p": participant, "number": number}
