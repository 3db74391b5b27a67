from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, MANAGER, STAFF, roles_required
from ..core.converters import parse_id, parse_ids
from ..core.db import commit_then_read
from ..core.errors import DomainError, error_page
from ..core.forms import add_error, show_error
from ..core.htmx import render, wants_fragment
from ..core.once import answered_again, repeated
from ..core.pagination import paginate, paginate_ids
from ..core.roster import device_time, poll_answer, screen_current, settle
from ..core.scoping import current_scope, get_or_404, scoped
from ..core.security import compiles_wasm
from ..extensions import db, limiter
from ..jobs.documents import document_job, document_response
from ..participants.models import Participant
from ..participants.queries import NAME_ORDER, ids_in_order, participants_by_id, search_clause
from ..regions.services import acting_kecamatan, kecamatan_choices
from . import bp
from .forms import CancelForm, EventForm
from .models import Event, Signup
from .services import (EventError, assign_booth, attendance_counts, attendance_outcome, cancel, check_in, counts,
                       create_event, eligible, move, sign_up, update_event, waiting_line)
from .services import MARKET_STEP, NOT_ORGANISER, attendance_refusal, step_blocks

VIEW = (ADMIN, MANAGER, STAFF)
# Events are organised by a kecamatan desk, or by a Sudin/Dinas manager for a larger event (hosted
# by one of their kecamatan offices and open to the kota or the province).
DESK = (ADMIN, MANAGER, STAFF)


@bp.get("/acara")
@roles_required(*VIEW)
def index():
    stmt = scoped(select(Event), Event).options(joinedload(Event.kecamatan)).order_by(Event.starts_on.desc(), Event.id.desc())
    page = paginate(stmt, request.args.get("hal", 1))
    return render_template("events/index.html", page=page)


@bp.route("/acara/baru", methods=["GET", "POST"])
@roles_required(*DESK)
def new():
    form = EventForm()
    scope = current_scope()
    form.kecamatan_id.choices = {"": "— pilih —", **{str(k): v for k, v in kecamatan_choices()}}
    from ..participants.models import Sector

    sectors = db.session.scalars(select(Sector).where(Sector.active.is_(True)).order_by(Sector.position)).all()
    quotas, quota_errors = {}, {}
    for sector in sectors:
        raw = (request.form.get(f"quota_{sector.id}") or "").strip()
        if raw:
            if raw.isdigit():
                quotas[sector.id] = int(raw)
            else:
                quota_errors[f"quota_{sector.id}"] = "Isi dengan bilangan bulat, mis. 10."
    valid = form.validate_on_submit()
    if valid and not quota_errors:
        kecamatan = acting_kecamatan(form.kecamatan_id.data)
        if kecamatan is None:
            add_error(form, "kecamatan_id", "Pilih kecamatan penyelenggara.")
        else:
            try:
                event = create_event(form.kind.data, form.name.data, kecamatan, form.venue.data, form.starts_on.data,
                                     form.ends_on.data, form.booths.data, form.signup_opens.data,
                                     form.signup_closes.data, current_user, fair_order=form.fair_order.data,
                                     quotas=quotas, reach=form.reach.data or "kecamatan")
            except DomainError as err:
                db.session.rollback()
                for field, message in err.errors:
                    if field and field.startswith("quota_"):
                        quota_errors[field] = message
                    else:
                        add_error(form, field, message)
            else:
                db.session.commit()
                flash("Acara dibuat.", "success")
                return redirect(url_for("events.detail", event_id=event.id))
    status = 422 if form.is_submitted() else 200
    return render_template("events/new.html", form=form, choose_kecamatan=scope.kecamatan_id is None,
                           sectors=sectors, quota_errors=quota_errors), status


@bp.get("/acara/<int:event_id>")
@roles_required(*VIEW)
def detail(event_id: int):
    event = get_or_404(Event, event_id)
    return render_template("events/detail.html", event=event, **_detail_context(event))


def _detail_context(event: Event) -> dict:
    confirmed = db.session.scalars(scoped(select(Signup), Signup).options(
        joinedload(Signup.participant).joinedload(Participant.kelurahan))
        .where(Signup.event_id == event.id, Signup.status == "confirmed").order_by(Signup.booth)).all()
    visible = set(db.session.scalars(scoped(select(Signup.id), Signup).where(Signup.event_id == event.id)))
    waiting = [(place, s) for place, s in enumerate(waiting_line(event.id), start=1) if s.id in visible]
    promoted = request.args.get("naik", type=int)
    # Sign-ups the step rule stops (e.g. made before the mode became berurutan): why, per sign-up.
    blocks = step_blocks(event.id, list(confirmed) + [s for _, s in waiting])
    return {"confirmed": confirmed, "waiting": waiting, "counts": counts(event.id),
            "promoted": promoted, "organiser": event.organised_by(current_scope()),
            "attendance": attendance_refusal(event, current_scope()), "blocks": blocks,
            "blocked_confirmed": [s for s in confirmed if s.id in blocks],
            "blocked_waiting": [s for _, s in waiting if s.id in blocks]}


def _forbidden(err):
    """Stop with 403 and the rule's own Indonesian message on the error page (an EventError or an Outcome)."""
    abort(make_response(*error_page(403, err.message)))


def _attendance_or_403(event: Event) -> EventError | None:
    """The attendance rule for the current user: 403 (with its message) for anyone but the organiser;
    else what still stands in the way today (the event has not begun), or None."""
    refusal = attendance_refusal(event, current_scope())
    if refusal is not None and refusal.code == NOT_ORGANISER:
        _forbidden(refusal)
    return refusal


def _organiser_or_403(event: Event) -> None:
    if not event.organised_by(current_scope()):
        abort(403)


@bp.get("/acara/<int:event_id>/cari-peserta")
@roles_required(*DESK)
def search(event_id: int):
    event = get_or_404(Event, event_id)
    term = (request.args.get("q") or "").strip()[:60]
    results = []
    if term and (clause := search_clause(term)) is not None:
        taken = select(Signup.participant_id).where(Signup.event_id == event.id, Signup.status != "cancelled")
        found = scoped(select(Participant.id), Participant).where(
            clause, Participant.status == "active", Participant.id.not_in(taken))
        results = participants_by_id(db.session.scalars(ids_in_order(found, NAME_ORDER, True).limit(20)).all(),
                                     options=(joinedload(Participant.kelurahan),))
    return render("events/detail.html", "events/_search_results.html", page_context=lambda: _detail_context(event),
                  event=event, results=results, term=term, missing=_missing_phrases([p.id for p in results]))


def _missing_phrases(participant_ids) -> dict[int, str]:
    """Participant id → why the step rule keeps them from signing up (mode berurutan), one query."""
    from ..participants.services import missing_steps_for, missing_steps_phrase

    return {pid: missing_steps_phrase(m) for pid, m in missing_steps_for(participant_ids, MARKET_STEP).items() if m}


@bp.post("/acara/<int:event_id>/daftar")
@roles_required(*DESK)
def signup(event_id: int):
    event = get_or_404(Event, event_id)
    ids = parse_ids(request.form.getlist("participant_id"), 500)
    participants = db.session.scalars(scoped(select(Participant), Participant).where(Participant.id.in_(ids))
                                      .order_by(Participant.name_key, Participant.id)).all()
    if request.form.get("batas_stan") == "1" and request.form.get("daftar_tunggu") != "1":
        # From the bulk page: more ticked than booths left is refused as a whole, with one message,
        # unless the desk chose to put the rest on the waiting list.
        free = max(event.booths - counts(event.id)["confirmed"], 0)
        if len(participants) > free:
            flash(f"Dipilih {len(participants)} peserta, sisa stan {free}: tidak ada yang didaftarkan. Kurangi "
                  f"pilihan {len(participants) - free} peserta, atau centang \"masukkan sisanya ke daftar tunggu\".",
                  "error")
            return redirect(url_for("events.signup_bulk", event_id=event.id))
    done = {"confirmed": 0, "waiting": 0}
    problems = []
    for p in participants:
        try:
            with db.session.begin_nested():
                result = sign_up(event.id, p, current_user)
            done[result.status] += 1
        except DomainError as err:
            problems.append(err.message)
    db.session.commit()
    for problem in problems[:10]:
        flash(problem, "error")
    if len(problems) > 10:
        flash(f"… dan {len(problems) - 10} peserta lain tidak didaftarkan.", "error")
    if participants:
        flash(f"{done['confirmed']} terkonfirmasi, {done['waiting']} masuk daftar tunggu.", "success")
    return redirect(url_for("events.detail", event_id=event.id))


@bp.route("/acara/daftar/<int:signup_id>/batal", methods=["GET", "POST"])
@roles_required(*DESK)
def cancel_signup(signup_id: int):
    signup_ = get_or_404(Signup, signup_id)
    form = CancelForm()
    if form.validate_on_submit():
        freed_booth = signup_.status == "confirmed"
        try:
            promoted = cancel(signup_, form.reason.data)
        except DomainError as err:
            db.session.rollback()
            signup_ = get_or_404(Signup, signup_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash(f"Pendaftaran {signup_.participant.name} dibatalkan.", "success")
            if promoted:
                flash(f"{promoted.participant.name} naik dari daftar tunggu ke stan {promoted.booth}.", "success")
            passed = step_blocks(signup_.event_id, waiting_line(signup_.event_id)) if freed_booth else {}
            if passed:
                flash(f"{len(passed)} peserta di daftar tunggu tidak dapat naik ke stan karena mode berurutan; "
                      "alasannya tertera di daftar tunggu.", "error")
            return redirect(url_for("events.detail", event_id=signup_.event_id, naik=promoted.id if promoted else None))
    status = 422 if form.is_submitted() else 200
    return render_template("events/cancel.html", form=form, s=signup_), status


@bp.post("/acara/daftar/<int:signup_id>/hadir")
@roles_required(*DESK)
def attended(signup_id: int):
    signup_ = get_or_404(Signup, signup_id)
    outcome = attendance_outcome(signup_, request.form.get("hadir") == "1", current_scope())
    if outcome.accepted:
        db.session.commit()
    else:
        db.session.rollback()
        if outcome.code == NOT_ORGANISER:
            _forbidden(outcome)
        flash(outcome.message, "error")
    return redirect(url_for("events.detail", event_id=signup_.event_id))


@bp.get("/acara/<int:event_id>/stan.pdf")
@roles_required(*DESK)
def booth_list(event_id: int):
    event = get_or_404(Event, event_id)
    _organiser_or_403(event)
    return document_response("events.booth_list", {"event_id": event.id})


@bp.post("/acara/<int:event_id>/stan.pdf")
@roles_required(*DESK)
def booth_list_job(event_id: int):
    event = get_or_404(Event, event_id)
    _organiser_or_403(event)
    return document_job("events.booth_list", {"event_id": event.id})


def _public_limit() -> str:
    from flask import current_app

    return current_app.config["ONLINE_RATE_LIMIT"]


@bp.route("/acara/<int:event_id>/daftar-mandiri", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])
def public_signup(event_id: int):
    """Public: a participant signs up with their registration number and NIK (both must match)."""
    from ..core.idnumbers import clean_nik
    from .forms import PublicSignupForm

    event = db.get_or_404(Event, event_id)
    form = PublicSignupForm()
    result = None
    if form.validate_on_submit():
        participant = db.session.scalars(select(Participant).where(
            Participant.reg_number == (form.reg_number.data or "").upper(),
            Participant.nik == clean_nik(form.nik.data))).first()
        if participant is None or not eligible(event, participant):
            add_error(form, "nik", "Nomor pendaftaran dan NIK tidak cocok dengan peserta yang boleh mendaftar di "
                                   "acara ini. Periksa kartu peserta Anda.")
        else:
            try:
                signup_ = sign_up(event.id, participant, None)
            except DomainError as err:
                db.session.rollback()
                add_error(form, "reg_number", err.message)
            else:
                db.session.commit()
                place = None
                if signup_.status == "waiting":
                    place = next(i for i, s in enumerate(waiting_line(event.id), start=1) if s.id == signup_.id)
                result = {"status": signup_.status, "booth": signup_.booth, "place": place}
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template("events/public_signup.html", form=form, event=event, result=result), status


@bp.get("/acara/<int:event_id>/pendaftar.pdf")
@roles_required(*DESK)
def signup_list(event_id: int):
    """Every sign-up, for the organiser (app.events.jobs.signup_list_document)."""
    event = get_or_404(Event, event_id)
    _organiser_or_403(event)
    return document_response("events.signup_list", {"event_id": event.id})


@bp.post("/acara/<int:event_id>/pendaftar.pdf")
@roles_required(*DESK)
def signup_list_job(event_id: int):
    event = get_or_404(Event, event_id)
    _organiser_or_403(event)
    return document_job("events.signup_list", {"event_id": event.id})


@bp.post("/acara/daftar/<int:signup_id>/pindah")
@roles_required(*DESK)
def move_signup(signup_id: int):
    signup_ = get_or_404(Signup, signup_id)
    _organiser_or_403(signup_.event)
    try:
        move(signup_, -1 if request.form.get("arah") == "naik" else 1, request.form.get("reason", "")[:300])
    except DomainError as err:
        db.session.rollback()
        show_error(err)
    else:
        db.session.commit()
        flash(f"Urutan {signup_.participant.name} di daftar tunggu diubah.", "success")
    return redirect(url_for("events.detail", event_id=signup_.event_id))


@bp.route("/acara/<int:event_id>/check-in", methods=["GET", "POST"])
@compiles_wasm
@roles_required(*DESK)
def checkin(event_id: int):
    """At the venue: scan the card's QR code (or type the number) to mark a confirmed participant present."""
    event = get_or_404(Event, event_id)
    refusal = _attendance_or_403(event)
    result = None
    if request.method == "POST":
        result = check_in(event, (request.form.get("reg_number") or "").strip()[:40], current_scope(),
                          at=device_time(request.form.get("marked_at")))
        if result.accepted:
            commit_then_read()
        else:
            db.session.rollback()
    status = 422 if result and not result.accepted else 200
    return render("events/checkin.html", "events/_checkin_result.html", event=event, result=result,
                  counts=attendance_counts(event.id), refusal=refusal, fragment=wants_fragment()), status


@bp.get("/acara/<int:event_id>/tambah-massal")
@roles_required(*DESK)
def signup_bulk(event_id: int):
    """Sign up from a filtered list of the user's active participants (by kelurahan, licensed, …)."""
    from ..regions.models import Kelurahan

    event = get_or_404(Event, event_id)
    args = {k: (request.args.get(k) or "").strip()[:60] for k in ("q", "kelurahan", "berizin")}
    taken = select(Signup.participant_id).where(Signup.event_id == event.id, Signup.status != "cancelled")
    stmt = scoped(select(Participant.id), Participant).where(Participant.status == "active",
                                                             Participant.id.not_in(taken))
    clause = search_clause(args["q"]) if args["q"] else None
    if clause is not None:
        stmt = stmt.where(clause)
    if (kelurahan_id := parse_id(args["kelurahan"])) is not None:
        stmt = stmt.where(Participant.kelurahan_id == kelurahan_id)
    if args["berizin"]:
        stmt = stmt.where(Participant.has_step(4))
    page = paginate_ids(ids_in_order(stmt, NAME_ORDER, clause is not None),
                        lambda ids: participants_by_id(ids, options=(joinedload(Participant.kelurahan),)),
                        request.args.get("hal", 1), size=200)
    kelurahan = db.session.scalars(scoped(select(Kelurahan).order_by(Kelurahan.name), Kelurahan)).all()
    tally = counts(event.id)
    return render_template("events/signup_bulk.html", event=event, page=page, args=args, kelurahan=kelurahan,
                           counts=tally, free=max(event.booths - tally["confirmed"], 0),
                           missing=_missing_phrases([p.id for p in page.items]))


@bp.post("/peserta/<int:participant_id>/acara")
@roles_required(*DESK)
def signup_from_participant(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    event = get_or_404(Event, request.form.get("event_id", ""))
    try:
        with db.session.begin_nested():
            result = sign_up(event.id, participant, current_user)
    except DomainError as err:
        show_error(err)
    else:
        flash(f"{participant.name}: " + (f"stan {result.booth} di {event.name}." if result.booth
                                         else f"daftar tunggu {event.name}."), "success")
    db.session.commit()
    return redirect(url_for("participants.detail", participant_id=participant.id))


@bp.route("/acara/<int:event_id>/ubah", methods=["GET", "POST"])
@roles_required(*DESK)
def edit(event_id: int):
    event = get_or_404(Event, event_id)
    _organiser_or_403(event)
    form = EventForm(obj=event)
    if form.validate_on_submit():
        try:
            changes = update_event(event, form.name.data, form.venue.data, form.starts_on.data, form.ends_on.data,
                                   form.booths.data, form.signup_opens.data, form.signup_closes.data)
        except DomainError as err:
            db.session.rollback()
            event = get_or_404(Event, event_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Perubahan acara disimpan." if changes else "Tidak ada perubahan.", "success")
            return redirect(url_for("events.detail", event_id=event.id))
    status = 422 if form.is_submitted() else 200
    return render_template("events/edit.html", form=form, event=event), status


@bp.post("/acara/daftar/<int:signup_id>/stan")
@roles_required(*DESK)
def set_booth(signup_id: int):
    signup_ = get_or_404(Signup, signup_id)
    _organiser_or_403(signup_.event)
    raw = request.form.get("booth", "")
    try:
        assign_booth(signup_, int(raw) if raw.isdigit() else None)
    except DomainError as err:
        db.session.rollback()
        show_error(err)
    else:
        db.session.commit()
        flash(f"{signup_.participant.name} di stan {signup_.booth}.", "success")
    return redirect(url_for("events.detail", event_id=signup_.event_id))


def _attendance_rows(event: Event, since: int | None = None) -> list[Signup]:
    """The attendance list's rows (the confirmed sign-ups, by booth); with ``since``, only those
    whose mark changed after that revision."""
    stmt = (scoped(select(Signup), Signup).options(joinedload(Signup.participant).joinedload(Participant.kelurahan))
            .where(Signup.event_id == event.id, Signup.status == "confirmed").order_by(Signup.booth))
    if since is not None:
        stmt = stmt.where(Signup.revision > since)
    return list(db.session.scalars(stmt))


@bp.get("/acara/<int:event_id>/kehadiran")
@roles_required(*DESK)
def roster(event_id: int):
    """On the day, on a phone: one big button per booth to mark who came (roster-sync.js keeps the
    marks through a lost connection; the list polls what other devices marked)."""
    event = get_or_404(Event, event_id)
    refusal = _attendance_or_403(event)
    rows = _attendance_rows(event)
    return render_template("events/roster.html", event=event, rows=rows, counts=attendance_counts(event.id),
                           refusal=refusal, blocks=step_blocks(event.id, rows))


@bp.get("/acara/<int:event_id>/kehadiran/perubahan")
@roles_required(*DESK)
def roster_changes(event_id: int):
    """What changed on the attendance list since revision ``sejak`` (polled by every open list):
    the changed rows and the counters out of band, and the poller with the new revision; 204 when
    nothing changed; a screen older than a change of the list's rows reloads."""
    event = get_or_404(Event, event_id)
    refusal = _attendance_or_403(event)
    if not wants_fragment():
        return redirect(url_for("events.roster", event_id=event.id))
    since = request.args.get("sejak", type=int)
    if (answer := poll_answer(event, since)) is not None:
        return answer
    rows = _attendance_rows(event, since)
    return render_template("events/_roster_changes.html", event=event, rows=rows, counts=attendance_counts(event.id),
                           refusal=refusal, blocks=step_blocks(event.id, rows))


@bp.post("/acara/<int:event_id>/kehadiran/<int:signup_id>")
@answered_again
@roles_required(*DESK)
def roster_mark(event_id: int, signup_id: int):
    """One tap: answers with its row and the counters, and (given the screen's revision, ``sejak``)
    every other row changed since, so that the screen's rows and counters agree. A mark id (the
    form's one-time token) sent again changes nothing and is answered with the row as it stands."""
    event = get_or_404(Event, event_id)
    refusal = _attendance_or_403(event)
    signup_ = get_or_404(Signup, signup_id, options=(joinedload(Signup.participant).joinedload(Participant.kelurahan),))
    error = notice = None
    if signup_.event_id != event.id:
        error = "Peserta ini tidak terdaftar di acara ini."
    elif not repeated():
        error, notice = settle(attendance_outcome(signup_, request.form.get("hadir") == "1", current_scope(),
                                                  device_time(request.form.get("marked_at"))))
    if not wants_fragment():
        if error or notice:
            flash(error or notice, "error" if error else "info")
        return redirect(url_for("events.roster", event_id=event.id))
    since = request.args.get("sejak", type=int)
    others = None
    if signup_.event_id == event.id and screen_current(event, since):
        others = [s for s in _attendance_rows(event, since) if s.id != signup_.id]
    return render_template("events/_roster_update.html", event=event, s=signup_, error=error, notice=notice,
                           refusal=refusal, counts=attendance_counts(event.id), others=others,
                           blocks=step_blocks(event.id, [signup_, *(others or [])])), 422 if error else 200
