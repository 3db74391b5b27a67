from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.access import ADMIN, roles_required
from ..core.public import public_url
from ..core.pdf import PAPERS, pdf_response, qr_image, render_pdf
from ..core.scoping import current_scope, get_or_404, scoped
from ..extensions import db
from ..regions.models import Kecamatan
from . import bp
from .forms import LetterheadForm, ProgramSettingsForm
from .models import Letterhead
from .services import (LETTERHEAD_ROLES, LogoError, current_program_settings, letterhead_for, program_settings,
                       save_letterhead, update_program_settings)


@bp.route("/pengaturan", methods=["GET", "POST"])
@roles_required(ADMIN)
def program():
    settings = program_settings() if request.method == "POST" else current_program_settings()
    form = ProgramSettingsForm(mode=settings.mode, target_province=settings.target_province_per_year,
                               target_kelurahan=settings.target_kelurahan_per_year)
    if form.validate_on_submit():
        changes = update_program_settings(form.mode.data, form.target_province.data, form.target_kelurahan.data)
        db.session.commit()
        flash("Pengaturan disimpan." if changes else "Tidak ada perubahan.", "success")
        return redirect(url_for("settings.program"))
    status = 422 if form.is_submitted() else 200
    if form.is_submitted():
        db.session.commit()  # the defaults row, when created just now
    return render_template("settings/program.html", form=form), status


@bp.get("/pengaturan/kop-surat")
@roles_required(*LETTERHEAD_ROLES)
def letterheads():
    kecamatan = db.session.scalars(scoped(
        select(Kecamatan).options(joinedload(Kecamatan.kota)).order_by(Kecamatan.code), Kecamatan)).all()
    saved = {lh.kecamatan_id: lh for lh in db.session.scalars(scoped(select(Letterhead), Letterhead))}
    return render_template("settings/letterheads.html", kecamatan=kecamatan, saved=saved)


@bp.route("/pengaturan/kop-surat/<int:kecamatan_id>", methods=["GET", "POST"])
@roles_required(*LETTERHEAD_ROLES)
def letterhead(kecamatan_id: int):
    kecamatan = get_or_404(Kecamatan, kecamatan_id)
    current = letterhead_for(kecamatan)
    form = LetterheadForm(obj=current)
    if form.validate_on_submit():
        upload = form.logo.data
        content = upload.read() if upload and getattr(upload, "filename", "") else None
        values = {name: getattr(form, name).data or "" for name in
                  ("office_name", "address", "phone", "email", "camat_name", "camat_nip")}
        try:
            changes = save_letterhead(kecamatan, values, logo=content, remove_logo=form.remove_logo.data)
        except LogoError as err:
            db.session.rollback()
            form.logo.errors = [str(err)]
        else:
            db.session.commit()
            flash("Kop surat disimpan." if changes else "Tidak ada perubahan.", "success")
            return redirect(url_for("settings.letterhead", kecamatan_id=kecamatan.id))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/letterhead.html", form=form, kecamatan=kecamatan, letterhead=current,
                           papers=PAPERS), status


@bp.get("/pengaturan/kop-surat/<int:kecamatan_id>/logo")
@login_required
def letterhead_logo(kecamatan_id: int):
    kecamatan = get_or_404(Kecamatan, kecamatan_id)
    lh = db.session.scalars(select(Letterhead).where(Letterhead.kecamatan_id == kecamatan.id)).first()
    if lh is None or not lh.logo:
        abort(404)
    response = make_response(lh.logo)
    response.headers["Content-Type"] = lh.logo_mime
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/dokumen/uji")
@login_required
def test_document():
    """A test page PDF: letterhead, Indonesian formatting, a QR code and a long table, on A4 or F4."""
    paper = request.args.get("kertas", "A4").upper()
    if paper not in PAPERS:
        abort(404)
    scope = current_scope()
    kecamatan_id = request.args.get("kecamatan") or scope.kecamatan_id
    if kecamatan_id:
        kecamatan = get_or_404(Kecamatan, kecamatan_id)
    else:
        kecamatan = db.session.scalars(scoped(select(Kecamatan).order_by(Kecamatan.code), Kecamatan)).first()
        if kecamatan is None:
            abort(404)
    lh = letterhead_for(kecamatan)
    content = render_pdf("pdf/test_page.html", paper=paper, letterhead=lh, kecamatan=kecamatan,
                         qr=qr_image(public_url("main.home")), rows=range(1, 61),
                         user=current_user)
    return pdf_response(content, f"uji-dokumen-{paper.lower()}.pdf")
