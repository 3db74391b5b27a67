"""Export of the filtered participant list (CSV streamed, XLSX written row by row), audited."""
import io
import tempfile

from flask import Response, abort, send_file, stream_with_context
from flask_login import current_user
from sqlalchemy import func, select

from ..core import audit
from ..core.access import roles_required
from ..core.spreadsheet import csv_writer, xlsx_append
from ..core.timeutil import to_wib, today_wib
from ..extensions import db
from . import bp
from .access import VIEW_ROLES, PersonalData, personal_data_for
from .queries import participant_query
from .services import steps_reached
from .views import filter_form

HEADERS = ["Nomor pendaftaran", "NIK", "Nama", "Jenis kelamin", "Tanggal lahir", "Nomor HP", "Surel", "Alamat",
           "Kelurahan", "Kecamatan", "Nama usaha", "Sektor", "Tahap usaha", "Jalur", "Status", "Tanggal daftar",
           "Langkah dicapai"]
CHUNK = 1000


def _rows(stmt, shown: PersonalData):
    """Rows in chunks of 1,000 (keyset on id would be faster; offset keeps the chosen order)."""
    offset = 0
    while True:
        chunk = list(db.session.scalars(stmt.limit(CHUNK).offset(offset)))
        if not chunk:
            return
        steps = steps_reached([p.id for p in chunk])
        for p in chunk:
            yield [p.reg_number or "", shown.nik(p.nik), p.name, p.gender_label,
                   p.birth_date, shown.phone(p.phone), p.email or "", p.address,
                   p.kelurahan.name, p.kecamatan.name, p.business_name, p.sector.name if p.sector else "",
                   p.stage_label, p.channel_label, p.status_label, to_wib(p.registered_at).date(),
                   " ".join(f"P{n}" for n in steps[p.id])]
        offset += CHUNK


@bp.get("/peserta/ekspor.<fmt>")
@roles_required(*VIEW_ROLES)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    _form, filters = filter_form()
    stmt = participant_query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    shown = personal_data_for(current_user)
    used = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}
    audit.record("export.participants", entity_type="participant", kecamatan_id=current_user.kecamatan_id,
                 summary=f"Ekspor {total} peserta ({fmt.upper()}{', data lengkap' if shown.full else ', tersamar'})",
                 changes={"filters": {"before": None, "after": used}, "rows": {"before": None, "after": total}})
    db.session.commit()
    filename = f"peserta-{today_wib().isoformat()}.{fmt}"
    if fmt == "csv":
        def generate():
            buffer = io.StringIO()
            writer = csv_writer(buffer)
            buffer.write("\ufeff")
            writer.writerow(HEADERS)
            for row in _rows(stmt, shown):
                writer.writerow(row)
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = Response(stream_with_context(generate()), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Peserta")
    xlsx_append(sheet, HEADERS)
    for row in _rows(stmt, shown):
        xlsx_append(sheet, row)
    handle = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    workbook.save(handle)
    handle.seek(0)
    return send_file(handle, as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
