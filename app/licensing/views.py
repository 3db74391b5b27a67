from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.errors import DomainError
from ..core.access import ADMIN, MANAGER, STAFF, roles_required
from ..core.converters import parse_id, parse_ids
from ..core.db import reads_from_now
from ..core.forms import show_error
from ..core.pagination import paginate
from ..core.scoping import current_scope, get_or_404, scoped
from ..core.security import public_lookup_limit
from ..extensions import db
from ..jobs.documents import queue_document, respond
from ..participants.models import Participant
from ..participants.services import mask_name
from ..regions.models import Kelurahan
from . import bp
from .forms import CancelForm, LetterForm, LicenseForm
from .jobs import LETTERS, LETTERS_FILE, letters_document, paper_arg
from .models import LETTER_STATUSES, SkuLetter
from .services import Signer, camat_signer, cancel_letter, find_letter, ready_clause, record_license, request_letter
from .services import sku_kelurahan

DESK = (ADMIN, STAFF)  # who makes letters also keeps the letterhead they are printed on (LETTERHEAD_ROLES)
MAX_BATCH = 200


@bp.route("/peserta/<int:participant_id>/izin", methods=["GET", "POST"])
@roles_required(*DESK)
def license_new(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = LicenseForm()
    form.kelurahan_id.choices = {"": "— pilih —", **{
        str(k.id): k.name if k.kecamatan_id == participant.kecamatan_id else f"{k.name} (Kec. {k.kecamatan.name})"
        for k in sku_kelurahan(participant)}}
    if not form.is_submitted():
        form.kelurahan_id.data = str(participant.kelurahan_id)
    if form.validate_on_submit():
        kel = parse_id(form.kelurahan_id.data)
        try:
            record_license(participant, form.kind.data, form.number.data, form.issued_on.data, kel, current_user)
        except DomainError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Izin usaha dicatat. P4 Perizinan tercapai.", "success")
            return redirect(url_for("participants.detail", participant_id=participant.id))
    status = 422 if form.is_submitted() else 200
    return render_template("licensing/license_form.html", form=form, p=participant), status


@bp.route("/peserta/<int:participant_id>/surat-sku", methods=["GET", "POST"])
@roles_required(*DESK)
def letter_new(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = LetterForm()
    default = camat_signer(participant.kecamatan)
    if form.validate_on_submit():
        signer = default if form.signer.data != "lain" else Signer(form.signer_name.data or "",
                                                                  form.signer_title.data or "", form.signer_nip.data or "")
        if form.signer.data == "lain" and not signer.title.strip():
            form.signer_title.errors = list(form.signer_title.errors) + ["Jabatan wajib diisi."]
        else:
            try:
                letter = request_letter(participant, signer, current_user)
            except DomainError as err:
                db.session.rollback()
                show_error(err, form)
            else:
                db.session.commit()
                return redirect(url_for("licensing.letter_pdf", letter_id=letter.id))
    status = 422 if form.is_submitted() else 200
    open_letter = db.session.scalars(select(SkuLetter).where(SkuLetter.participant_id == participant.id,
                                                             SkuLetter.status == "requested")).first()
    return render_template("licensing/letter_form.html", form=form, p=participant, default=default,
                           open_letter=open_letter), status


@bp.get("/surat-sku/<int:letter_id>.pdf")
@roles_required(*DESK)
def letter_pdf(letter_id: int):
    letter = get_or_404(SkuLetter, letter_id)
    return respond(letters_document([letter], f"surat-sku-{letter.number.replace('/', '-')}.pdf", paper_arg()))


@bp.route("/surat-sku/<int:letter_id>/batal", methods=["GET", "POST"])
@roles_required(*DESK)
def letter_cancel(letter_id: int):
    letter = get_or_404(SkuLetter, letter_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancel_letter(letter, form.reason.data)
        except DomainError as err:
            db.session.rollback()
            letter = get_or_404(SkuLetter, letter_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash(f"Surat {letter.number} dibatalkan.", "success")
            return redirect(url_for("licensing.letters"))
    status = 422 if form.is_submitted() else 200
    return render_template("licensing/letter_cancel.html", form=form, letter=letter), status


@bp.get("/surat-sku")
@roles_required(ADMIN, MANAGER, STAFF)
def letters():
    status = request.args.get("status", "")
    stmt = scoped(select(SkuLetter), SkuLetter).options(joinedload(SkuLetter.participant),
                                                       joinedload(SkuLetter.kelurahan))
    if status in LETTER_STATUSES:
        stmt = stmt.where(SkuLetter.status == status)
    page = paginate(stmt.order_by(SkuLetter.year.desc(), SkuLetter.sequence.desc()), request.args.get("hal", 1))
    return render_template("licensing/letters.html", page=page, status=status, statuses=LETTER_STATUSES)


@bp.get("/surat/<code>")
@public_lookup_limit()
def verify_letter(code: str):
    """Public: is this SKU request letter genuine? Number, date, kecamatan, masked name, status."""
    letter = find_letter(code)
    info = None
    if letter is not None:
        info = {"number": letter.number, "date": letter.letter_date, "kecamatan": letter.kecamatan.name,
                "kelurahan": letter.kelurahan.name, "name": mask_name(letter.participant.name),
                "status": letter.status_label}
    return render_template("licensing/verify.html", info=info), 200 if info else 404


@bp.get("/siap-izin")
@roles_required(ADMIN, MANAGER, STAFF)
def ready():
    scope = current_scope()
    kelurahan = db.session.scalars(scoped(select(Kelurahan).order_by(Kelurahan.name), Kelurahan, scope)).all()
    kel = request.args.get("kelurahan", "")
    stmt = scoped(select(Participant), Participant).options(joinedload(Participant.kelurahan)).where(ready_clause())
    if (kelurahan_id := parse_id(kel)) is not None:
        stmt = stmt.where(Participant.kelurahan_id == kelurahan_id)
    page = paginate(stmt.order_by(Participant.kelurahan_id, Participant.name_key), request.args.get("hal", 1))
    open_letters = {pid: number for pid, number in db.session.execute(
        select(SkuLetter.participant_id, SkuLetter.number).where(
            SkuLetter.participant_id.in_([p.id for p in page.items]), SkuLetter.status == "requested"))}
    from ..participants.services import program_mode

    return render_template("licensing/ready.html", page=page, kelurahan=kelurahan, kel=kel, open_letters=open_letters,
                           mode_sequential=program_mode() == "berurutan")


@bp.post("/siap-izin/surat.pdf")
@roles_required(*DESK)
def ready_letters():
    """Letters for the chosen participants, numbered, then printed: in this answer, or, more than
    PDF_JOB_PAGES of them, by the worker (the answer is the job's progress page)."""
    ids = parse_ids(request.form.getlist("participant_id"), MAX_BATCH)
    participants = db.session.scalars(scoped(select(Participant), Participant).where(
        Participant.id.in_(ids), ready_clause()).order_by(Participant.name_key)).all()
    if not participants:
        flash("Pilih peserta yang akan dibuatkan surat.", "error")
        return redirect(url_for("licensing.ready"))
    letters, problems = [], []
    for p in participants:
        try:
            letters.append(request_letter(p, camat_signer(p.kecamatan), current_user))
        except DomainError as err:
            problems.append(f"{p.name}: {err.message}")
    if problems:
        db.session.rollback()
        for problem in problems[:5]:
            flash(problem, "error")
        return redirect(url_for("licensing.ready"))
    paper = paper_arg()
    doc = letters_document(letters, LETTERS_FILE, paper)
    if doc.background:  # the letters and the job that prints them, committed together
        return queue_document(LETTERS, {"letter_ids": [letter.id for letter in letters], "kertas": paper}, doc)
    db.session.commit()
    reads_from_now()  # the numbers are decided: the letters render without holding the write lock
    return respond(doc)
