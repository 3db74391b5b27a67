"""Import screens: upload, map columns, preview, import; and the template file."""
import io

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.errors import DomainError
from ..core.access import roles_required
from ..core.scoping import get_or_404
from ..core.spreadsheet import csv_writer, xlsx_append
from ..extensions import db
from ..licensing.models import KINDS as LICENSE_KINDS
from ..regions.models import Kecamatan
from ..regions.services import kecamatan_choices
from . import bp
from .access import EDIT_ROLES
from .forms import ImportUploadForm
from .models import CHANNELS
from ..jobs.services import create_job, enqueue
from .importer import (TARGETS, TEMPLATE_EXAMPLE, TEMPLATE_HEADERS, ImportFileError, ImportLimits, apply_import,
                       check_rows, guess_mapping, load_upload, read_table, save_upload)
from .walkin import needs_kecamatan_choice, registering_kecamatan

PREVIEW_BAD_ROWS = 500


@bp.route("/peserta/impor", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def import_upload():
    form = ImportUploadForm()
    form.kecamatan_id.choices = {"": "— pilih —", **{str(k): v for k, v in kecamatan_choices()}}
    limits = ImportLimits.from_config(current_app.config)
    if form.validate_on_submit():
        upload = form.file.data
        kecamatan = registering_kecamatan(form)
        if not upload or not getattr(upload, "filename", ""):
            form.file.errors = list(form.file.errors) + ["Pilih berkas CSV atau XLSX."]
        elif kecamatan is not None:
            try:  # one byte past the limit is enough to refuse; the rest of the file is never read
                headers, rows = read_table(upload.filename, upload.stream.read(limits.file_bytes + 1), limits)
            except ImportFileError as err:
                form.file.errors = list(form.file.errors) + [str(err)]
            else:
                token = save_upload(current_user.id, kecamatan.id, upload.filename, headers, rows)
                db.session.commit()
                return redirect(url_for("participants.import_map", token=token))
    status = 422 if form.is_submitted() else 200
    return render_template("participants/import_upload.html", form=form, limits=limits,
                           choose_kecamatan=needs_kecamatan_choice()), status


def _upload_or_404(token: str) -> tuple[dict, Kecamatan]:
    payload = load_upload(token, current_user.id)
    if payload is None:
        abort(404)
    return payload, get_or_404(Kecamatan, payload["kecamatan_id"])


def _mapping_from(form_data, headers) -> tuple[dict[str, str], dict[str, str]]:
    mapping, errors = {}, {}
    for target, (label, required) in TARGETS.items():
        value = form_data.get(f"map_{target}", "")
        if value and (not value.isdigit() or int(value) >= len(headers)):
            value = ""
        if value:
            mapping[target] = value
        elif required:
            errors[target] = f"Kolom untuk {label} wajib dipilih."
    return mapping, errors


@bp.route("/peserta/impor/<token>", methods=["GET", "POST"])
@roles_required(*EDIT_ROLES)
def import_map(token: str):
    """Column mapping (GET) and the preview of every row with its errors (POST)."""
    payload, kecamatan = _upload_or_404(token)
    headers = payload["headers"]
    if request.method == "GET":
        return render_template("participants/import_map.html", token=token, payload=payload, kecamatan=kecamatan,
                               targets=TARGETS, mapping=guess_mapping(headers), errors={})
    mapping, errors = _mapping_from(request.form, headers)
    if errors:
        return render_template("participants/import_map.html", token=token, payload=payload, kecamatan=kecamatan,
                               targets=TARGETS, mapping=mapping, errors=errors), 422
    results = check_rows(headers, payload["rows"], mapping)
    bad = [r for r in results if r.errors]
    good = [r for r in results if not r.errors]
    by_channel = {key: n for key in CHANNELS if (n := sum(1 for r in good if r.channel == key))}
    by_license = {key: n for key in LICENSE_KINDS if (n := sum(1 for r in good if r.license and r.license.kind == key))}
    return render_template("participants/import_preview.html", token=token, payload=payload, kecamatan=kecamatan,
                           mapping=mapping, good=good, bad=bad[:PREVIEW_BAD_ROWS], bad_total=len(bad),
                           total=len(results), by_channel=by_channel, channels=CHANNELS, by_license=by_license,
                           license_kinds=LICENSE_KINDS,
                           in_background=len(payload["rows"]) > current_app.config["IMPORT_JOB_ROWS"])


@bp.post("/peserta/impor/<token>/simpan")
@roles_required(*EDIT_ROLES)
def import_commit(token: str):
    """Import the good rows: here for a small file, in the background (a job with a progress page)
    for one of more than IMPORT_JOB_ROWS rows."""
    payload, kecamatan = _upload_or_404(token)
    mapping, errors = _mapping_from(request.form, payload["headers"])
    if errors:
        abort(400)
    if len(payload["rows"]) > current_app.config["IMPORT_JOB_ROWS"]:
        job = create_job("participants.import", f"Impor {payload['filename'][:120]}", current_user,
                         {"token": token, "mapping": mapping}, total=len(payload["rows"]), kecamatan=kecamatan,
                         once_key=f"import:{token}")
        db.session.commit()
        enqueue(job.id)
        return redirect(url_for("jobs.show", job_id=job.id))
    try:
        created, skipped = apply_import(token, payload, kecamatan, mapping, current_user.id)
    except DomainError as err:  # a licence number recorded meanwhile elsewhere: nothing is saved
        db.session.rollback()
        flash(f"Impor dibatalkan, tidak ada yang disimpan: {err.message} Tampilkan pratinjau lagi.", "error")
        return redirect(url_for("participants.import_map", token=token))
    db.session.commit()
    return render_template("participants/import_done.html", created=created, skipped=skipped[:PREVIEW_BAD_ROWS],
                           skipped_total=len(skipped), kecamatan=kecamatan, filename=payload["filename"])


@bp.get("/peserta/impor/templat.<fmt>")
@roles_required(*EDIT_ROLES)
def import_template(fmt: str):
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow(TEMPLATE_HEADERS)
        writer.writerow(TEMPLATE_EXAMPLE)
        response = make_response("\ufeff" + buffer.getvalue())
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Peserta"
        xlsx_append(sheet, TEMPLATE_HEADERS)
        xlsx_append(sheet, TEMPLATE_EXAMPLE)
        for column in ("A", "C"):
            for cell in sheet[column]:
                cell.number_format = "@"  # NIK and phone as text, not numbers
        out = io.BytesIO()
        workbook.save(out)
        response = make_response(out.getvalue())
        response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    response.headers["Content-Disposition"] = f'attachment; filename="templat-impor-peserta.{fmt}"'
    return response
