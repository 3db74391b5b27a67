"""The weekly report on the task queue: its periodic job (Monday morning WIB, a week nobody submitted
is frozen as a draft, see :func:`app.reports.submissions.freeze_overdue`) and its files for a kota or
the province, made by the worker (a document, :mod:`app.jobs.documents`)."""
import shutil

from flask import current_app
from flask_login import current_user
from huey import crontab
from werkzeug.exceptions import NotFound

from ..core.scoping import current_scope
from ..core.timeutil import parse_date
from ..jobs.documents import PDF, Document, document
from ..jobs.queue import flask_app, huey
from .exports import XLSX_MIME


@huey.periodic_task(crontab(minute="*/15"))
def freeze_unsubmitted_weeks() -> None:
    """Every quarter hour; does nothing before Monday 06:00 WIB or once every kecamatan has its version."""
    from .submissions import freeze_overdue

    with flask_app().app_context():
        freeze_overdue()


WEEKLY_FILE = "reports.weekly_file"
FILE_MIMES = {"pdf": PDF, "xlsx": XLSX_MIME, "csv": "text/csv"}


@document(WEEKLY_FILE)
def weekly_file_document(params: dict) -> Document | None:
    """The live weekly report of an area as PDF, XLSX or CSV: made by the worker for a kota or the
    province (every kecamatan and kelurahan below it), in the request for a kecamatan. The figures
    are read when the file is written, so a GET that shows the button reads none."""
    from .exports import report_csv, report_xlsx
    from .figures import area_for, monday_of, weekly_report
    from .files import weekly_pdf
    from .views import report_url

    fmt, monday = params.get("fmt"), parse_date(params.get("minggu") or "")
    if fmt not in FILE_MIMES or monday is None:
        return None
    try:
        area = area_for(current_scope(), params.get("level"), params.get("ident"))
    except NotFound:  # outside the owner's scope (in the worker: the owner lost the region)
        return None
    monday = monday_of(monday)
    name = f"rekap-mingguan-{area.region.code}-{monday.isoformat()}"
    paper = "F4" if params.get("kertas") == "F4" else "A4"

    def write(out, progress=None):
        report = weekly_report(area, monday)
        if fmt == "pdf":
            out.write(weekly_pdf(report, paper))
        elif fmt == "xlsx":
            with report_xlsx(report) as handle:
                shutil.copyfileobj(handle, out)
        else:
            out.write(report_csv(report, f"{name}.csv").get_data())
        if progress is not None:
            progress(1)

    summary = f"Rekap mingguan {area.region.name}, minggu {monday.isoformat()} ({fmt.upper()})"
    return Document(title=summary, filename=f"{name}.{fmt}", write=write, mime=FILE_MIMES[fmt],
                    audit={"action": "export.weekly_report", "entity_type": "report",
                           "kecamatan_id": current_user.kecamatan_id, "summary": summary},
                    background=area.level in current_app.config["REPORT_FILE_JOB_LEVELS"],
                    back=report_url(area.region, minggu=monday.isoformat()), total=1, unit="berkas",
                    size=f"rekap {area.region.name} dengan semua wilayah di bawahnya")
