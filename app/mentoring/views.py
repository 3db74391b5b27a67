from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, PENDAMPING, STAFF, roles_required
from ..core.errors import DomainError
from ..core.converters import parse_id, parse_ids
from ..core.forms import show_error
from ..core.pagination import paginate, paginate_ids
from ..core.scoping import current_scope, get_or_404, scoped
from ..core.timeutil import today_wib
from ..extensions import db
from ..participants.models import Participant
from ..participants.queries import NAME_ORDER, ids_in_order, participants_by_id, search_clause
from ..participants.services import steps_reached
from ..participants.steps import STEP_BY_NUMBER
from ..regions.models import Kelurahan
from . import bp
from .forms import VisitForm
from .models import Visit
from .services import assign, pendamping_choices, record_visit


@bp.route("/pendampingan", methods=["GET", "POST"], endpoint="assign")
@roles_required(ADMIN, STAFF)
def assign_page():
    scope = current_scope()
    if request.method == "POST":
        ids = parse_ids(request.form.getlist("participant_id"), 500)
        value = request.form.get("pendamping_id", "")
        pendamping = parse_id(value)
        participants = db.session.scalars(scoped(select(Participant), Participant).where(Participant.id.in_(ids))).all()
        if not participants:
            flash("Centang peserta yang akan ditetapkan pendampingnya.", "error")
        else:
            try:
                changed = assign(list(participants), pendamping)
            except DomainError as err:
                db.session.rollback()
                show_error(err)
            else:
                db.session.commit()
                flash(f"Pendamping ditetapkan untuk {changed} peserta." if pendamping
                      else f"Pendamping dilepas dari {changed} peserta.", "success")
        return redirect(url_for("mentoring.assign", **request.args))
    args = {k: (request.args.get(k) or "").strip()[:60] for k in ("q", "kelurahan", "tanpa")}
    stmt = scoped(select(Participant.id), Participant, scope).where(Participant.status == "active")
    clause = search_clause(args["q"]) if args["q"] else None
    if clause is not None:
        stmt = stmt.where(clause)
    if (kelurahan_id := parse_id(args["kelurahan"])) is not None:
        stmt = stmt.where(Participant.kelurahan_id == kelurahan_id)
    if args["tanpa"]:
        stmt = stmt.where(Participant.pendamping_id.is_(None))
    shown = (joinedload(Participant.kelurahan), joinedload(Participant.pendamping))
    page = paginate_ids(ids_in_order(stmt, NAME_ORDER, clause is not None),
                        lambda ids: participants_by_id(ids, scope, options=shown), request.args.get("hal", 1), size=100)
    kelurahan = db.session.scalars(scoped(select(Kelurahan).order_by(Kelurahan.name), Kelurahan, scope)).all()
    kec_ids = {p.kecamatan_id for p in page.items} or ({scope.kecamatan_id} if scope.kecamatan_id else set())
    choices = [c for k in sorted(kec_ids) for c in pendamping_choices(k)]
    return render_template("mentoring/assign.html", page=page, args=args, kelurahan=kelurahan, choices=choices)



@bp.get("/pendampingan/saya")
@roles_required(PENDAMPING)
def mine():
    stmt = scoped(select(Participant), Participant).options(joinedload(Participant.kelurahan)).order_by(
        Participant.name_key)
    page = paginate(stmt, request.args.get("hal", 1))
    ids = [p.id for p in page.items]
    steps = steps_reached(ids)
    last = dict(db.session.execute(select(Visit.participant_id, func.max(Visit.visit_date))
                                   .where(Visit.participant_id.in_(ids)).group_by(Visit.participant_id)).all()) if ids else {}
    follow = dict(db.session.execute(select(Visit.participant_id, func.max(Visit.follow_up_on))
                                     .where(Visit.participant_id.in_(ids)).group_by(Visit.participant_id)).all()) if ids else {}
    nexts = {pid: next((STEP_BY_NUMBER[n] for n in range(1, 8) if n not in s), None) for pid, s in steps.items()}
    return render_template("mentoring/mine.html", page=page, steps=steps, last=last, follow=follow, nexts=nexts,
                           today=today_wib())


@bp.route("/peserta/<int:participant_id>/kunjungan", methods=["GET", "POST"])
@roles_required(ADMIN, STAFF, PENDAMPING)
def visit(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = VisitForm()
    if not form.is_submitted():
        form.visit_date.data = today_wib()
    if form.validate_on_submit():
        try:
            record_visit(participant, current_user, form.visit_date.data, form.topic.data, form.notes.data,
                         form.next_step.data, form.follow_up_on.data)
        except DomainError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Kunjungan dicatat.", "success")
            return redirect(url_for("mentoring.visit", participant_id=participant.id))
    visits = db.session.scalars(select(Visit).where(Visit.participant_id == participant.id)
                                .order_by(Visit.visit_date.desc(), Visit.id.desc())).all()
    status = 422 if form.is_submitted() else 200
    return render_template("mentoring/visit.html", form=form, p=participant, visits=visits), status


@bp.post("/peserta/<int:participant_id>/pendamping")
@roles_required(ADMIN, STAFF)
def assign_one(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    value = request.form.get("pendamping_id", "")
    try:
        assign([participant], parse_id(value))
    except DomainError as err:
        db.session.rollback()
        show_error(err)
    else:
        db.session.commit()
        flash("Pendamping disimpan.", "success")
    return redirect(url_for("participants.detail", participant_id=participant_id))
