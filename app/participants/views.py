from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..auth.forms import ConfirmForm
from ..core.access import roles_required
from ..core.htmx import render
from ..core.once import reads_only
from ..core.pagination import paginate, paginate_ids
from ..core.scoping import current_scope, get_or_404, kecamatan_clause, scoped
from ..core.timeutil import parse_date, today_wib, utcnow
from ..extensions import db
from ..jobs.documents import document_job, document_response, respond
from ..regions.models import Kecamatan, Kelurahan, Kota
from ..regions.services import kecamatan_choices
from . import bp
from .access import EDIT_ROLES, REGISTER_ROLES, VIEW_ROLES, sees_personal_data
from .forms import FilterForm, MergeForm, ParticipantForm, RejectForm
from .jobs import cards_document
from .models import OnlineResubmission, Participant
from .queries import participant_ids, participants_by_id
from .steps import SOURCE_LABELS
from .walkin import apply_errors, confirmed_flags, needs_kecamatan_choice, prepare_form, registering_kecamatan, registration_from
from .services import (RegistrationError, all_kelurahan, close_resubmission, kelurahan_label, merge, nik_status,
                       register, reject, steps_reached, timeline, update, verify)


# --- Walk-in desk ---------------------------------------------------------------------------

@bp.route("/peserta/daftar", methods=["GET", "POST"])
@roles_required(*REGISTER_ROLES)
def register_walkin():
    form = ParticipantForm()
    prepare_form(form)
    form.kecamatan_id.choices = {"": "— pilih —", **{str(k): v for k, v in kecamatan_choices()}}
    warnings = {}
    duplicates = []
    if form.validate_on_submit():
        kecamatan = registering_kecamatan(form)
        if kecamatan is not None:
            try:
                participant = register(registration_from(form), kecamatan, "walkin", current_user,
                                       confirmed=confirmed_flags(form))
            except RegistrationError as err:
                db.session.rollback()
                apply_errors(form, err)
                warnings, duplicates = err.needs_confirmation, err.duplicates
            else:
                db.session.commit()
                return redirect(url_for("participants.registered", participant_id=participant.id))
    status = 422 if form.is_submitted() else 200
    return render_template("participants/register.html", form=form, warnings=warnings, duplicates=duplicates,
                           kelurahan=all_kelurahan(), label=kelurahan_label,
                           choose_kecamatan=needs_kecamatan_choice(), scope=current_scope()), status


@bp.post("/peserta/cek-nik")
@roles_required(*REGISTER_ROLES)
@reads_only
def check_nik_fragment():
    """htmx: is the NIK valid, and is this person already registered (anywhere)?"""
    raw = (request.form.get("nik") or "")[:40]
    status = nik_status(raw, current_scope())
    today = today_wib()
    return render_template("participants/_nik_status.html", status=status, raw=raw,
                           birth=status.info.birth_date(today) if status.info.valid else None)


@bp.get("/peserta/<int:participant_id>/terdaftar")
@roles_required(*REGISTER_ROLES)
def registered(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    return render_template("participants/registered.html", p=participant)


# --- List, search, export -----------------------------------------------------------------

def filter_form() -> tuple[FilterForm, dict]:
    form = FilterForm(request.args)
    scope = current_scope()
    kel_stmt = scoped(select(Kelurahan).order_by(Kelurahan.name), Kelurahan, scope)
    form.kelurahan.choices = {"": "Semua", **{str(k.id): k.name for k in db.session.scalars(kel_stmt)}}
    # Domicile kota and kecamatan (the figures count by domicile; names are not personal data).
    form.kota.choices = {"": "Semua", **{str(k.id): k.name for k in db.session.scalars(
        select(Kota).order_by(Kota.code))}}
    form.kecamatan.choices = {"": "Semua", **{str(k.id): k.name for k in db.session.scalars(
        select(Kecamatan).order_by(Kecamatan.name))}}
    form.validate()
    filters = {name: (field.data if not field.errors else None) for name, field in form._fields.items()}
    if filters.get("kelurahan") and filters["kelurahan"] not in form.kelurahan.choices:
        filters["kelurahan"] = None
    for key in ("step", "aksi", "channel", "status", "urut", "izin", "kota", "kecamatan"):
        if filters.get(key) and filters[key] not in dict(form[key].choices):
            filters[key] = None
    return form, filters


def filter_args(form) -> dict:
    return {name: (field.data.isoformat() if isinstance(field.data, date) else (field.data or ""))
            for name, field in form._fields.items() if not field.errors}


@bp.get("/peserta")
@roles_required(*VIEW_ROLES)
def index():
    form, filters = filter_form()
    scope = current_scope()
    page = paginate_ids(participant_ids(filters, scope), lambda ids: participants_by_id(ids, scope),
                        request.args.get("hal", 1), cap=current_app.config["LIST_COUNT_CAP"])
    steps = steps_reached([p.id for p in page.items])
    return render("participants/index.html", "participants/_table.html", form=form, page=page, steps=steps,
                  args=filter_args(form), unmasked=sees_personal_data(current_user))


# --- Participant page and edit ------------------------------------------------------------

@bp.get("/peserta/<int:participant_id>")
@roles_required(*VIEW_ROLES)
def detail(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    from ..core.audit_words import participant_history, worded
    from .sections import sections_for

    history = worded(participant_history(participant.id))

    return render_template("participants/detail.html", p=participant, timeline=timeline(participant),
                           history=history, unmasked=sees_personal_data(current_user), sections=sections_for(participant),
                           source_labels=SOURCE_LABELS)


@bp.route("/peserta/<int:participant_id>/ubah", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def edit(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = ParticipantForm(obj=participant)
    prepare_form(form, participant)
    if not form.is_submitted():
        form.kelurahan.data = kelurahan_label(participant.kelurahan)
        form.sector_id.data = str(participant.sector_id or "")
    warnings, duplicates = {}, []
    if form.validate_on_submit():
        try:
            changes = update(participant, registration_from(form), confirmed=confirmed_flags(form))
        except RegistrationError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            apply_errors(form, err)
            warnings, duplicates = err.needs_confirmation, err.duplicates
        else:
            db.session.commit()
            flash("Perubahan disimpan." if changes else "Tidak ada perubahan.", "success")
            return redirect(url_for("participants.detail", participant_id=participant.id))
    status = 422 if form.is_submitted() else 200
    return render_template("participants/edit.html", form=form, p=participant, warnings=warnings,
                           duplicates=duplicates, kelurahan=all_kelurahan(), label=kelurahan_label), status


# --- Cards ---------------------------------------------------------------------------------

@bp.get("/peserta/<int:participant_id>/kartu.pdf")
@roles_required(*REGISTER_ROLES)
def card(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    if participant.status != "active":
        abort(404)
    return respond(cards_document([participant], f"kartu-{participant.reg_number}.pdf", sheet=False))


@bp.get("/peserta/kartu.pdf")
@roles_required(*REGISTER_ROLES)
def card_sheet():
    """A4 sheets of cards with cut lines: everyone active registered on the chosen day (default today);
    a sheet of more than PDF_JOB_PAGES pages: a button whose POST has the worker print it."""
    day = parse_date(request.args["tanggal"]) if request.args.get("tanggal") else today_wib()
    if day is None:
        abort(404)
    return document_response("participants.cards", {"tanggal": day.isoformat()})


@bp.post("/peserta/kartu.pdf")
@roles_required(*REGISTER_ROLES)
def card_sheet_job():
    day = parse_date(request.args["tanggal"]) if request.args.get("tanggal") else today_wib()
    if day is None:
        abort(404)
    return document_job("participants.cards", {"tanggal": day.isoformat()})


# --- Online queue --------------------------------------------------------------------------

RESUBMISSIONS_SHOWN = 50


@bp.get("/peserta/antrean")
@roles_required(*EDIT_ROLES)
def queue():
    # The queue of the office each registrant chose (not of where they live).
    scope = current_scope()
    stmt = scoped(select(Participant), Participant, scope).options(
        joinedload(Participant.kelurahan), joinedload(Participant.kecamatan)).where(
        Participant.status == "pending").order_by(Participant.registered_at.asc(), Participant.id.asc())
    if (office := kecamatan_clause(Participant.kecamatan_id, scope)) is not None:
        stmt = stmt.where(office)
    page = paginate(stmt, request.args.get("hal", 1))
    open_again = scoped(select(OnlineResubmission), OnlineResubmission).where(OnlineResubmission.handled_at.is_(None))
    resubmissions = db.session.scalars(open_again.options(
        joinedload(OnlineResubmission.participant).joinedload(Participant.kecamatan))
        .order_by(OnlineResubmission.submitted_at.asc()).limit(RESUBMISSIONS_SHOWN)).all()
    resubmission_total = db.session.scalar(select(func.count()).select_from(open_again.subquery()))
    in_scope = set(db.session.scalars(scoped(select(Participant.id), Participant).where(
        Participant.id.in_([r.participant_id for r in resubmissions])))) if resubmissions else set()
    return render("participants/queue.html", "participants/_queue_table.html", page=page,
                  reject_form=RejectForm(), merge_form=MergeForm(), now=utcnow(), resubmissions=resubmissions,
                  resubmission_total=resubmission_total, in_scope=in_scope)


@bp.post("/peserta/antrean/nik-terdaftar/<int:resubmission_id>/selesai")
@roles_required(*EDIT_ROLES)
def resubmission_done(resubmission_id: int):
    row = get_or_404(OnlineResubmission, resubmission_id)
    if not ConfirmForm().validate_on_submit():
        flash("Formulir tidak sah, coba lagi.", "error")
        return redirect(url_for("participants.queue"))
    close_resubmission(row, current_user)
    db.session.commit()
    flash(f"Pendaftaran ulang {row.name} ditandai selesai.", "success")
    return redirect(url_for("participants.queue"))


@bp.post("/peserta/<int:participant_id>/verifikasi")
@roles_required(*EDIT_ROLES)
def queue_verify(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    try:
        verify(participant)
    except RegistrationError as err:
        db.session.rollback()
        flash(" ".join(err.fields.values()), "info")
    else:
        db.session.commit()
        flash(f"{participant.name} diverifikasi: nomor pendaftaran {participant.reg_number}.", "success")
    return redirect(url_for("participants.queue"))


@bp.route("/peserta/<int:participant_id>/tolak", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def queue_reject(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            reject(participant, form.reason.data)
        except RegistrationError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            form.reason.errors = list(form.reason.errors) + list(err.fields.values())
        else:
            db.session.commit()
            flash(f"Pendaftaran {participant.name} ditolak.", "success")
            return redirect(url_for("participants.queue"))
    status = 422 if form.is_submitted() else 200
    return render_template("participants/reject.html", form=form, p=participant), status


@bp.route("/peserta/<int:participant_id>/gabung", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def queue_merge(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = MergeForm()
    target = None
    if form.validate_on_submit():
        key = (form.target.data or "").replace(" ", "")
        target = db.session.scalars(scoped(select(Participant), Participant).where(
            (Participant.reg_number == key) | (Participant.nik == key))).first()
        if target is None:
            form.target.errors = list(form.target.errors) + [
                "Peserta tujuan tidak ditemukan di kecamatan Anda. Periksa nomor pendaftaran atau NIK."]
        elif request.form.get("confirm") != "1":
            pass  # show the target and ask to confirm
        else:
            try:
                merge(participant, target)
            except RegistrationError as err:
                db.session.rollback()
                form.target.errors = list(form.target.errors) + list(err.fields.values())
            else:
                db.session.commit()
                flash(f"Pendaftaran daring {participant.name} digabungkan ke {target.reg_number}.", "success")
                return redirect(url_for("participants.detail", participant_id=target.id))
    status = 422 if form.is_submitted() and form.target.errors else 200
    return render_template("participants/merge.html", form=form, p=participant, target=target), status
