"""Public self-registration (no login): lands as pending in the chosen kecamatan's queue."""
from flask import current_app, redirect, render_template, url_for

from ..core.converters import parse_id
from ..core.scoping import PROVINCE, Scope
from ..extensions import db, limiter
from ..regions.models import Kecamatan
from ..regions.services import kecamatan_choices
from . import bp
from .forms import OnlineForm
from .services import (RegistrationError, all_kelurahan, find_by_nik, kelurahan_label, note_resubmission, register,
                       validate)
from .walkin import apply_errors, prepare_form, registration_from


def _online_limit() -> str:
    return current_app.config["ONLINE_RATE_LIMIT"]


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(_online_limit, methods=["POST"])
def register_online():
    form = OnlineForm()
    prepare_form(form)
    form.kecamatan_id.choices = {"": "— pilih —", **{str(k): v for k, v in kecamatan_choices(Scope(PROVINCE, kecamatan_ids=None))}}
    if form.validate_on_submit():
        kecamatan = None
        if (kecamatan_id := parse_id(form.kecamatan_id.data)) is not None:
            kecamatan = db.session.get(Kecamatan, kecamatan_id)
        if kecamatan is None:
            form.kecamatan_id.errors = list(form.kecamatan_id.errors) + ["Pilih kantor kecamatan yang dituju."]
        if not form.agree.data:
            form.agree.errors = list(form.agree.errors) + ["Centang persetujuan untuk melanjutkan."]
        # The public sees no other person's data, so a near-duplicate is left to staff to judge.
        confirmed = {"identity", "duplicate"}
        try:
            if kecamatan is None or not form.agree.data:
                validate(registration_from(form), confirmed)  # show every other problem at once
            else:
                register(registration_from(form), kecamatan, "online", None, confirmed=confirmed)
                db.session.commit()
                return redirect(url_for("participants.online_done", kecamatan_id=kecamatan.id))
        except RegistrationError as err:
            db.session.rollback()
            if err.nik_taken:
                # Never tell the public whether a NIK is registered: answer as for a new one and
                # leave the possible duplicate, flagged, in the office's queue.
                del err.fields["nik"]
                existing = err.existing or find_by_nik("".join(c for c in form.nik.data or "" if c.isdigit()))
                if not err.fields and kecamatan is not None and form.agree.data and existing is not None:
                    note_resubmission(existing, registration_from(form), kecamatan)
                    db.session.commit()
                    return redirect(url_for("participants.online_done", kecamatan_id=kecamatan.id))
            apply_errors(form, err)
    status = 422 if form.is_submitted() else 200
    return render_template("participants/online.html", form=form, kelurahan=all_kelurahan(),
                           label=kelurahan_label), status


@bp.get("/daftar/terkirim/<int:kecamatan_id>")
def online_done(kecamatan_id: int):
    kecamatan = db.get_or_404(Kecamatan, kecamatan_id)
    return render_template("participants/online_done.html", kecamatan=kecamatan)
