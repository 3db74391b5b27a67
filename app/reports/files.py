"""The weekly report's files, from live figures or from a frozen (approved) version."""
from ..core.pdf import render_pdf
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.steps import STEPS
from .exports import report_csv, report_xlsx
from .figures import LEVEL_LABELS, VARIANTS, WeeklyReport


def office_of(level: str, region_name: str) -> str:
    if level == "kota":
        return f"Suku Dinas PPKUKM {region_name}"
    return "Dinas PPKUKM Provinsi DKI Jakarta"


def weekly_pdf(report: WeeklyReport, paper: str = "A4", approval=None) -> bytes:
    """The report as PDF: on the kecamatan's letterhead for a kecamatan; ``approval`` (a frozen
    version) prints who approved it and when instead of who printed it."""
    from ..regions.models import Kecamatan
    from ..settings.services import letterhead_for

    area = report.area
    letterhead = None
    if area.level == "kecamatan":
        letterhead = letterhead_for(db.session.get(Kecamatan, area.region.id))
    return render_pdf("pdf/weekly_report.html", paper=paper, landscape=True, report=report, variants=VARIANTS,
                      letterhead=letterhead, level_labels=LEVEL_LABELS, office=office_of(area.level, area.region.name),
                      steps=STEPS, printed_at=utcnow(), approval=approval)


def filename(report: WeeklyReport, fmt: str, version: int | None = None) -> str:
    suffix = f"-v{version}-disetujui" if version else ""
    return f"rekap-mingguan-{report.area.region.code}-{report.monday.isoformat()}{suffix}.{fmt}"


def render_frozen(snapshot, fmt: str) -> bytes:
    """An approved version's file, from its frozen figures."""
    from .submissions import frozen, kecamatan_scope

    report = frozen(snapshot, kecamatan_scope(snapshot.kecamatan_id)).report
    if fmt == "pdf":
        return weekly_pdf(report, approval=snapshot)
    if fmt == "xlsx":
        with report_xlsx(report) as handle:
            return handle.read()
    return report_csv(report, filename(report, "csv")).get_data()
