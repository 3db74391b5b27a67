"""Export of the filtered participant list (CSV streamed, XLSX written row by row), audited.

An export of more than EXPORT_JOB_ROWS rows (up to the province's whole list) is made by the
worker: the GET shows how many rows and a button; its POST makes the job and opens its progress page.
"""
import io
import tempfile

from flask import Response, abort, current_app, redirect, render_template, request, send_file, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy import func, select, tuple_

from ..core import audit
from ..core.access import roles_required
from ..core.spreadsheet import csv_writer, xlsx_append
from ..core.timeutil import to_wib, today_wib
from ..extensions import db
from ..jobs.services import create_job, enqueue
from . import bp
from .access import VIEW_ROLES, PersonalData, personal_data_for
from .models import Participant
from .queries import participant_query
from .services import steps_reached
from .views import filter_form

HEADERS = ["Nomor pendaftaran", "NIK", "Nama", "Jenis kelamin", "Tanggal lahir", "Nomor HP", "Surel", "Alamat",
           "Kelurahan", "Kecamatan", "Nama usaha", "Sektor", "Tahap usaha", "Jalur", "Status", "Tanggal daftar",
           "Langkah dicapai"]
CHUNK = 1000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Sorts whose key is never empty are read by keyset (after the last row's key and id): each chunk costs
# the same, so a province's export does not slow down as it goes. Others read by offset.
KEYSET = {"baru": (Participant.registered_at, False), "lama": (Participant.registered_at, True),
          "nama": (Participant.name_key, True)}


def _rows(stmt, shown: PersonalData, progress=None, sort: str | None = "baru"):
    """Rows in chunks of 1,000, in the list's order."""
    keyset = KEYSET.get(sort or "baru")
    offset, last = 0, None
    while True:
        if keyset is None:
            page = stmt.offset(offset)
        elif last is None:
            page = stmt
        else:
            column, ascending = keyset
            key, bound = tuple_(column, Participant.id), tuple_(*last)
            page = stmt.where(key > bound if ascending else key < bound)
        chunk = list(db.session.scalars(page.limit(CHUNK)))
        if not chunk:
            return
        steps = steps_reached([p.id for p in chunk])
        for p in chunk:
            yield [p.reg_number or "", shown.nik(p.nik), p.name, p.gender_label,
                   p.birth_date, shown.phone(p.phone), p.email or "", p.address,
                   p.kelurahan.name, p.kecamatan.name, p.business_name, p.sector.name if p.sector else "",
                   p.stage_label, p.channel_label, p.status_label, to_wib(p.registered_at).date(),
                   " ".join(f"P{n}" for n in steps[p.id])]
        offset += len(chunk)
        if keyset is not None:
            last = (getattr(chunk[-1], keyset[0].key), chunk[-1].id)
        for p in chunk:  # a province's export keeps one chunk in memory, not all of them
            db.session.expunge(p)
        if progress is not None:
            progress(offset)


def _csv_chunks(stmt, shown: PersonalData, progress=None, sort: str | None = "baru"):
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(HEADERS)
    for row in _rows(stmt, shown, progress, sort):
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_export(fmt: str, stmt, shown: PersonalData, out, progress=None, sort: str | None = "baru") -> None:
    """The export as a file into the binary stream ``out``, in the list's order (``sort``: its urut)."""
    if fmt == "csv":
        for text in _csv_chunks(stmt, shown, progress, sort):
            out.write(text.encode("utf-8"))
        return
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Peserta")
    xlsx_append(sheet, HEADERS)
    for row in _rows(stmt, shown, progress, sort):
        xlsx_append(sheet, row)
    workbook.save(out)


def export_filename(fmt: str) -> str:
    return f"peserta-{today_wib().isoformat()}.{fmt}"


def _audit_export(fmt: str, filters: dict, total: int, shown: PersonalData, note: str = "") -> None:
    used = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}
    audit.record("export.participants", entity_type="participant", kecamatan_id=current_user.kecamatan_id,
                 summary=f"Ekspor {total} peserta ({fmt.upper()}{', data lengkap' if shown.full else ', tersamar'})"
                         f"{note}",
                 changes={"filters": {"before": None, "after": used}, "rows": {"before": None, "after": total}})


@bp.route("/peserta/ekspor.<fmt>", methods=["GET", "POST"])
@roles_required(*VIEW_ROLES)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    _form, filters = filter_form()
    stmt = participant_query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    shown = personal_data_for(current_user)
    if total > current_app.config["EXPORT_JOB_ROWS"]:
        if request.method == "GET":  # a GET never writes: the button below makes the job
            return render_template("participants/export_background.html", total=total, fmt=fmt,
                                   args=request.args.to_dict(flat=False), unmasked=shown.full)
        job = create_job("participants.export", f"Ekspor {total} peserta ({fmt.upper()})", current_user,
                         {"fmt": fmt, "args": request.args.to_dict(flat=False)}, total=total)
        _audit_export(fmt, filters, total, shown, " di latar belakang")
        db.session.commit()
        enqueue(job.id)
        return redirect(url_for("jobs.show", job_id=job.id), 303)
    if request.method == "POST":  # the list shrank below the limit meanwhile: the file at once
        return redirect(url_for("participants.export", fmt=fmt, **request.args.to_dict(flat=False)), 303)
    _audit_export(fmt, filters, total, shown)
    db.session.commit()
    filename = export_filename(fmt)
    if fmt == "csv":
        response = Response(stream_with_context(_csv_chunks(stmt, shown, sort=filters.get("urut"))), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    handle = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    write_export(fmt, stmt, shown, handle, sort=filters.get("urut"))
    handle.seek(0)
    return send_file(handle, as_attachment=True, download_name=filename, mimetype=XLSX_MIME)
