"""The roster of a meeting (phone first), one-tap marks, closing, and check-in by QR or number."""
from functools import cache, lru_cache

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, FACILITATOR, STAFF, roles_required
from ..core.db import commit_then_read, run_prepared
from ..core.checkin import BLOCKED, FULL, INVALID, UNKNOWN
from ..core.htmx import render, wants_fragment
from ..core.once import answered_again, repeated
from ..core.roster import device_time, poll_answer, screen_current, settle
from ..core.scoping import Scope, current_scope, get_or_404, scoped
from ..core.security import compiles_wasm
from ..extensions import db
from ..participants.models import Participant
from . import bp
from .models import STATUS_LABELS, Attendance, Enrollment, Meeting
from .services import check_in, close_meeting, mark_outcome, may_mark, reopen_meeting

MARK_ROLES = (ADMIN, STAFF, FACILITATOR)


def roster_rows(meeting: Meeting) -> list[dict]:
    """Every enrolment with its number (the sign-in sheet's order: by name) and this meeting's mark."""
    enrollments = db.session.scalars(select(Enrollment).join(Participant).options(
        joinedload(Enrollment.participant).joinedload(Participant.kelurahan))
        .where(Enrollment.course_id == meeting.course_id).order_by(Participant.name_key, Participant.id)).all()
    marks = {a.enrollment_id: a for a in db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))}
    return [{"number": i, "enrollment": e, "p": e.participant, "mark": marks.get(e.id)}
            for i, e in enumerate(enrollments, start=1)]


def roster_row(meeting: Meeting, enrollment: Enrollment) -> tuple[dict, dict]:
    """One row of the roster as roster_rows() gives it (its number in the name order, its mark)
    and the roster's counters: what a tap answers with, from two indexed queries whatever the size
    of the class."""
    p = enrollment.participant
    total, before = _tally(meeting, p)
    mark = db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                       Attendance.enrollment_id == enrollment.id)).first()
    return {"number": before + 1, "enrollment": enrollment, "p": p, "mark": mark}, total


def changed_rows(meeting: Meeting, since: int) -> list[dict]:
    """The rows whose mark changed after revision ``since``, numbered as roster_rows() numbers
    them: one query with a window function, whatever the size of the class."""
    ordered = (select(Enrollment.id.label("enrollment_id"),
                      func.row_number().over(order_by=(Participant.name_key, Participant.id)).label("number"))
               .join(Participant).where(Enrollment.course_id == meeting.course_id).subquery())
    found = db.session.execute(
        select(Enrollment, Attendance, ordered.c.number)
        .join(Attendance, and_(Attendance.enrollment_id == Enrollment.id, Attendance.meeting_id == meeting.id))
        .join(ordered, ordered.c.enrollment_id == Enrollment.id)
        .options(joinedload(Enrollment.participant).joinedload(Participant.kelurahan))
        .where(Attendance.revision > since).order_by(ordered.c.number)).all()
    return [{"number": number, "enrollment": e, "p": e.participant, "mark": a} for e, a, number in found]


@cache
def _counts_statement(numbered: bool):
    status = func.coalesce(Attendance.status, "belum")
    columns = [status, func.count()]
    if numbered:  # how many rows come before the participant's in the name order
        name_key, participant_id = bindparam("name_key"), bindparam("participant_id")
        ahead = or_(Participant.name_key < name_key, and_(Participant.name_key == name_key, Participant.id < participant_id))
        columns.append(func.sum(case((ahead, 1), else_=0)))
    return (select(*columns).select_from(Enrollment).join(Participant)
            .outerjoin(Attendance, and_(Attendance.enrollment_id == Enrollment.id,
                                        Attendance.meeting_id == bindparam("meeting_id")))
            .where(Enrollment.course_id == bindparam("course_id")).group_by(status))


def _tally(meeting: Meeting, numbering: Participant | None) -> tuple[dict, int]:
    """The roster's counters (each status, not yet marked, total, attended) in one grouped query,
    and with ``numbering`` (a participant on the roster) how many rows come before theirs."""
    params = {"meeting_id": meeting.id, "course_id": meeting.course_id}
    if numbering is not None:
        params.update(name_key=numbering.name_key, participant_id=numbering.id)
    result = dict.fromkeys(STATUS_LABELS, 0)
    result["belum"] = 0
    ahead = 0
    for key, n, *before in run_prepared(_counts_statement(numbering is not None), params):
        result[key] += n
        ahead += before[0] if before else 0
    result["total"] = sum(result.values())
    result["attended"] = result["hadir"] + result["terlambat"]
    return result, ahead


def counts(meeting: Meeting) -> dict:
    """The roster's counters (each status, not yet marked, total, attended) in one grouped query."""
    return _tally(meeting, None)[0]


@lru_cache(maxsize=1024)
def _tap_statement(scope: Scope):
    """The tap's query for one user's scope, built once (its cache key is then worked out once)."""
    return scoped(scoped(
        select(Meeting, Enrollment).join(Enrollment, Enrollment.course_id == Meeting.course_id)
        .where(Meeting.id == bindparam("meeting_id"), Enrollment.id == bindparam("enrollment_id"))
        .options(joinedload(Meeting.course), joinedload(Enrollment.participant).joinedload(Participant.kelurahan)),
        Meeting, scope), Enrollment, scope)


def tap_target(meeting_id: int, enrollment_id: int) -> tuple[Meeting, Enrollment]:
    """The meeting (with its course) and the enrolment (with its participant) a tap names, through
    the scope, in one query; 404 when either is missing or out of scope. An enrolment of another
    course (a screen of another meeting) is loaded on its own, so that the tap can say so."""
    found = db.session.execute(_tap_statement(current_scope()),
                               {"meeting_id": meeting_id, "enrollment_id": enrollment_id}).first()
    if found is not None:
        return found.Meeting, found.Enrollment
    return get_or_404(Meeting, meeting_id), get_or_404(Enrollment, enrollment_id)


@bp.get("/pertemuan/<int:meeting_id>")
@roles_required(*MARK_ROLES)
def roster(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    rows = roster_rows(meeting)
    total = counts(meeting)
    only_unmarked = request.args.get("filter") == "belum"
    term = (request.args.get("q") or "").strip().lower()[:60]
    shown = [r for r in rows if (not only_unmarked or r["mark"] is None)
             and (not term or term in r["p"].name.lower() or term in (r["p"].reg_number or "").lower())]
    return render("training/roster.html", "training/_roster_rows.html", meeting=meeting, rows=shown, counts=total,
                  only_unmarked=only_unmarked, term=term, blocked=may_mark(meeting, current_user),
                  labels=STATUS_LABELS)


@bp.post("/pertemuan/<int:meeting_id>/tandai/<int:enrollment_id>")
@answered_again
@roles_required(*MARK_ROLES)
def mark_one(meeting_id: int, enrollment_id: int):
    """One tap: answers with its row and the counters. A mark id (the form's one-time token) sent
    again changes nothing and is answered with the row as it stands."""
    meeting, enrollment = tap_target(meeting_id, enrollment_id)
    error = notice = None
    if not repeated():
        error, notice = settle(mark_outcome(meeting, enrollment, request.form.get("status", ""), current_user,
                                            device_time(request.form.get("marked_at"))))
    if not wants_fragment():
        if error or notice:
            flash(error or notice, "error" if error else "info")
        return redirect(url_for("training.roster", meeting_id=meeting.id, **({"filter": request.args["filter"]}
                                                                              if request.args.get("filter") else {})))
    if enrollment.course_id == meeting.course_id:
        row, total = roster_row(meeting, enrollment)
    else:
        row, total = None, counts(meeting)
    # The screen says which revision it shows (?sejak=, outside the form so a resent mark is the
    # same request): the answer brings the other rows changed since, so that its counters and its
    # rows agree; the poller moves on to the new revision.
    since = request.args.get("sejak", type=int)
    others = None
    if screen_current(meeting, since):
        others = [r for r in changed_rows(meeting, since) if r["enrollment"].id != enrollment.id]
    return render_template("training/_roster_row_update.html", meeting=meeting, row=row, counts=total,
                           error=error, notice=notice, labels=STATUS_LABELS, others=others,
                           blocked=may_mark(meeting, current_user)), 422 if error else 200


@bp.get("/pertemuan/<int:meeting_id>/perubahan")
@roles_required(*MARK_ROLES)
def roster_changes(meeting_id: int):
    """What changed on the roster since revision ``sejak`` (polled by every open roster): the
    changed rows and the counters out of band, and the poller with the new revision. Nothing
    changed: 204. A screen older than a close or reopen (or with no revision) reloads."""
    meeting = get_or_404(Meeting, meeting_id)
    if not wants_fragment():
        return redirect(url_for("training.roster", meeting_id=meeting.id))
    since = request.args.get("sejak", type=int)
    if (answer := poll_answer(meeting, since)) is not None:
        return answer
    return render_template("training/_roster_changes.html", meeting=meeting, rows=changed_rows(meeting, since),
                           counts=counts(meeting), labels=STATUS_LABELS, blocked=may_mark(meeting, current_user))


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
@compiles_wasm
@roles_required(*MARK_ROLES)
def checkin(meeting_id: int):
    """Scan the card's QR (the registration number) or type it; marks Hadir with a clear confirmation."""
    meeting = get_or_404(Meeting, meeting_id)
    result = None
    if request.method == "POST":
        result = check_in(meeting, (request.form.get("reg_number") or "").strip()[:40], current_user,
                          enrol_now=request.form.get("enrol") == "1", at=device_time(request.form.get("marked_at")))
        if result.accepted:
            commit_then_read()
        else:
            db.session.rollback()
    status = 422 if result and result.kind in (INVALID, UNKNOWN, BLOCKED, FULL) else 200
    return render("training/checkin.html", "training/_checkin_result.html", meeting=meeting, result=result,
                  counts=counts(meeting)), status
