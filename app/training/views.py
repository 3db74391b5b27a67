"""Courses: lists, today, create, course page with enrolment."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, FACILITATOR, MANAGER, STAFF, roles_required
from ..core.errors import DomainError
from ..core.forms import show_error
from ..core.converters import parse_id, parse_ids
from ..core.htmx import render
from ..core.pagination import paginate, paginate_ids
from ..core.scoping import current_scope, get_or_404, scoped
from ..core.timeutil import today_wib
from ..extensions import db
from ..participants.models import Participant
from ..participants.queries import NAME_ORDER, ids_in_order, participants_by_id, search_clause
from ..regions.services import acting_kecamatan, kecamatan_choices
from . import bp
from .forms import CourseForm, RuleForm
from .models import Certificate, Course, Enrollment, Meeting
from .services import MeetingInput, check_meetings, create_course, enroll, facilitator_choices, unenroll, update_rule

VIEW_ROLES = (ADMIN, MANAGER, STAFF, FACILITATOR)
MANAGE_ROLES = (ADMIN, STAFF)
ENROL_ROLES = (ADMIN, STAFF, FACILITATOR)


@bp.get("/pelatihan")
@roles_required(*VIEW_ROLES)
def index():
    today = today_wib()
    base = scoped(select(Meeting), Meeting).join(Course).options(joinedload(Meeting.course).joinedload(Course.kecamatan))
    upcoming = db.session.scalars(base.where(Meeting.date >= today).order_by(Meeting.date, Meeting.start_time)
                                  .limit(50)).all()
    past = paginate(base.where(Meeting.date < today).order_by(Meeting.date.desc(), Meeting.start_time.desc()),
                    request.args.get("hal", 1))
    return render_template("training/index.html", upcoming=upcoming, past=past, today=today)


@bp.get("/pelatihan/hari-ini")
@roles_required(*VIEW_ROLES)
def today_page():
    today = today_wib()
    meetings = db.session.scalars(scoped(select(Meeting), Meeting).join(Course).options(joinedload(Meeting.course))
                                  .where(Meeting.date == today).order_by(Meeting.start_time)).all()
    counts = _enrolled_counts([m.course_id for m in meetings])
    return render_template("training/today.html", meetings=meetings, today=today, counts=counts)


def _enrolled_counts(course_ids) -> dict[int, int]:
    if not course_ids:
        return {}
    rows = db.session.execute(select(Enrollment.course_id, func.count()).where(Enrollment.course_id.in_(set(course_ids)))
                              .group_by(Enrollment.course_id))
    return dict(rows.all())


def _meeting_inputs(form) -> list[MeetingInput]:
    return [MeetingInput(date=entry.form.date.data, start_time=entry.form.start_time.data,
                         end_time=entry.form.end_time.data, venue=entry.form.venue.data or "",
                         capacity=entry.form.capacity.data) for entry in form.meetings]


@bp.route("/pelatihan/baru", methods=["GET", "POST"])
@roles_required(*MANAGE_ROLES)
def new():
    form = CourseForm()
    scope = current_scope()
    form.kecamatan_id.choices = {"": "— pilih —", **{str(k): v for k, v in kecamatan_choices()}}
    kecamatan = acting_kecamatan(form.kecamatan_id.data)
    form.facilitator_id.choices = {"": "— belum ditentukan —", **{
        str(i): n for i, n in (facilitator_choices(kecamatan.id) if kecamatan else [])}}
    meeting_errors = {}
    if request.method == "POST" and request.form.get("add_meeting"):
        form.meetings.append_entry()
    elif form.is_submitted():
        valid = form.validate()
        inputs = _meeting_inputs(form)
        meeting_errors = check_meetings(inputs)  # every problem at once, also when the form has others
        if kecamatan is None:
            form.kecamatan_id.errors = list(form.kecamatan_id.errors) + ["Pilih kecamatan."]
        elif valid and not meeting_errors:
            try:
                facilitator = parse_id(form.facilitator_id.data)
                course = create_course(form.title.data, form.topic.data, kecamatan, facilitator,
                                       form.min_meetings.data, inputs, current_user)
            except DomainError as err:
                db.session.rollback()
                show_error(err, form, "title")
            else:
                db.session.commit()
                flash("Pelatihan dibuat. Tambahkan peserta.", "success")
                return redirect(url_for("training.course", course_id=course.id))
    status = 422 if request.method == "POST" and not request.form.get("add_meeting") else 200
    return render_template("training/new.html", form=form, meeting_errors=meeting_errors,
                           choose_kecamatan=scope.kecamatan_id is None), status


@bp.get("/pelatihan/<int:course_id>")
@roles_required(*VIEW_ROLES)
def course(course_id: int):
    course = get_or_404(Course, course_id)
    return render_template("training/course.html", course=course, **_course_context(course))


def _course_context(course: Course) -> dict:
    """What the course page shows besides the course (also around a full-page enrol search)."""
    enrollments = db.session.scalars(select(Enrollment).join(Participant).options(
        joinedload(Enrollment.participant).joinedload(Participant.kelurahan))
        .where(Enrollment.course_id == course.id).order_by(Participant.name_key, Participant.id)).all()
    rule_form = RuleForm(facilitator_id=str(course.facilitator_id or ""), min_meetings=course.min_meetings)
    rule_form.facilitator_id.choices = {"": "— belum ditentukan —", **{
        str(i): n for i, n in facilitator_choices(course.kecamatan_id)}}
    certificates = {c.participant_id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.course_id == course.id))}
    waiting = [e for e in enrollments if e.completed_on and e.participant_id not in certificates]
    return {"enrollments": enrollments, "rule_form": rule_form, "certificates": certificates, "waiting": waiting}


@bp.post("/pelatihan/<int:course_id>/aturan")
@roles_required(*MANAGE_ROLES)
def course_rule(course_id: int):
    course = get_or_404(Course, course_id)
    form = RuleForm()
    form.facilitator_id.choices = {"": "", **{str(i): n for i, n in facilitator_choices(course.kecamatan_id)}}
    if form.validate_on_submit():
        try:
            facilitator = parse_id(form.facilitator_id.data)
            changes = update_rule(course, facilitator, form.min_meetings.data)
        except DomainError as err:
            db.session.rollback()
            show_error(err)
        else:
            db.session.commit()
            flash("Aturan pelatihan disimpan." if changes else "Tidak ada perubahan.", "success")
    else:
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
    return redirect(url_for("training.course", course_id=course.id))


@bp.get("/pelatihan/<int:course_id>/cari-peserta")
@roles_required(*ENROL_ROLES)
def enrol_search(course_id: int):
    """htmx: active participants of the course's kecamatan matching the search, not yet enrolled."""
    course = get_or_404(Course, course_id)
    term = (request.args.get("q") or "").strip()[:60]
    results = []
    if term and (clause := search_clause(term)) is not None:
        enrolled = select(Enrollment.participant_id).where(Enrollment.course_id == course.id)
        found = select(Participant.id).where(Participant.of_kecamatan([course.kecamatan_id]), clause,
                                             Participant.status == "active", Participant.id.not_in(enrolled))
        results = participants_by_id(db.session.scalars(ids_in_order(found, NAME_ORDER, True).limit(20)).all(),
                                     options=(joinedload(Participant.kelurahan),))
    return render("training/course.html", "training/_enrol_results.html", page_context=lambda: _course_context(course),
                  course=course, results=results, term=term)


@bp.post("/pelatihan/<int:course_id>/peserta")
@roles_required(*ENROL_ROLES)
def enrol(course_id: int):
    course = get_or_404(Course, course_id)
    ids = parse_ids(request.form.getlist("participant_id"), 1000)
    # A facilitator enrols within the course's kecamatan; others through their scope. Alphabetical, so
    # that who gets the last seats is predictable.
    stmt = select(Participant).where(Participant.id.in_(ids)).order_by(Participant.name_key, Participant.id)
    stmt = stmt.where(Participant.of_kecamatan([course.kecamatan_id])) if current_user.role == FACILITATOR \
        else scoped(stmt, Participant)
    participants = db.session.scalars(stmt).all()
    if not participants:
        flash("Pilih peserta yang akan ditambahkan.", "error")
        return redirect(url_for("training.course", course_id=course.id))
    added, problems = enroll(course, list(participants), current_user)
    db.session.commit()
    if added:
        flash(f"{len(added)} peserta ditambahkan ke pelatihan.", "success")
    for problem in problems[:10]:
        flash(problem, "error")
    if len(problems) > 10:
        flash(f"… dan {len(problems) - 10} peserta lain tidak ditambahkan.", "error")
    target = request.form.get("next")
    if not added and request.form.get("dari") == "massal":
        return redirect(url_for("training.enrol_bulk", course_id=course.id))
    return redirect(target if target and target.startswith("/pertemuan/") else url_for("training.course", course_id=course.id))


@bp.route("/pelatihan/<int:course_id>/tambah-massal", methods=["GET", "POST"])
@roles_required(*MANAGE_ROLES)
def enrol_bulk(course_id: int):
    """Enrol from a filtered participant list: by kelurahan, registration date, not yet trained."""
    from ..regions.models import Kelurahan

    course = get_or_404(Course, course_id)
    kelurahan = db.session.scalars(select(Kelurahan).where(Kelurahan.kecamatan_id == course.kecamatan_id)
                                   .order_by(Kelurahan.name)).all()
    args = {k: (request.values.get(k) or "").strip()[:60] for k in ("q", "kelurahan", "belum_p2")}
    enrolled = select(Enrollment.participant_id).where(Enrollment.course_id == course.id)
    stmt = select(Participant.id).where(Participant.of_kecamatan([course.kecamatan_id]), Participant.status == "active",
                                        Participant.id.not_in(enrolled))
    clause = search_clause(args["q"]) if args["q"] else None
    if clause is not None:
        stmt = stmt.where(clause)
    if (kelurahan_id := parse_id(args["kelurahan"])) is not None:
        stmt = stmt.where(Participant.kelurahan_id == kelurahan_id)
    if args["belum_p2"]:
        stmt = stmt.where(~Participant.has_step(2))
    page = paginate_ids(ids_in_order(stmt, NAME_ORDER, clause is not None),
                        lambda ids: participants_by_id(ids, options=(joinedload(Participant.kelurahan),)),
                        request.args.get("hal", 1), size=200)
    seats = max(course.capacity - len(course.enrollments), 0)
    from ..participants.services import missing_steps_for, missing_steps_phrase
    from .services import TRAINING_STEP

    missing = {pid: missing_steps_phrase(m) for pid, m in
               missing_steps_for([p.id for p in page.items], TRAINING_STEP).items() if m}
    return render_template("training/enrol_bulk.html", course=course, page=page, args=args, kelurahan=kelurahan,
                           seats=seats, missing=missing)


@bp.post("/pelatihan/peserta/<int:enrollment_id>/hapus")
@roles_required(*ENROL_ROLES)
def unenrol(enrollment_id: int):
    enrollment = get_or_404(Enrollment, enrollment_id)
    course_id, name = enrollment.course_id, enrollment.participant.name
    unenroll(enrollment)
    db.session.commit()
    flash(f"{name} dikeluarkan dari pelatihan.", "success")
    return redirect(url_for("training.course", course_id=course_id))


@bp.route("/pelatihan/<int:course_id>/daftar-baru", methods=["GET", "POST"])
@roles_required(*ENROL_ROLES)
def walkin(course_id: int):
    """Register a walk-in at the venue (the desk's form and rules), then enrol them in this course."""
    from ..participants.forms import ParticipantForm
    from ..participants.services import RegistrationError, all_kelurahan, kelurahan_label, register
    from ..participants.walkin import apply_errors, confirmed_flags, prepare_form, registration_from

    course = get_or_404(Course, course_id)
    form = ParticipantForm()
    prepare_form(form)
    warnings, duplicates = {}, []
    if form.validate_on_submit():
        try:
            participant = register(registration_from(form), course.kecamatan, "walkin", current_user,
                                   confirmed=confirmed_flags(form))
        except RegistrationError as err:
            db.session.rollback()
            apply_errors(form, err)
            warnings, duplicates = err.needs_confirmation, err.duplicates
        else:
            added, problems = enroll(course, [participant], current_user)
            db.session.commit()
            if added:
                flash(f"{participant.name} terdaftar ({participant.reg_number}) dan ditambahkan ke {course.title}.",
                      "success")
            for problem in problems:
                flash(f"{participant.name} terdaftar ({participant.reg_number}), tetapi: {problem}", "error")
            return redirect(url_for("training.course", course_id=course.id))
    status = 422 if form.is_submitted() else 200
    return render_template("participants/register.html", form=form, warnings=warnings, duplicates=duplicates,
                           kelurahan=all_kelurahan(), label=kelurahan_label, choose_kecamatan=False,
                           scope=current_scope(), course=course,
                           action=url_for("training.walkin", course_id=course.id)), status
