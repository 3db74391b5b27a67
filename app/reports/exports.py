"""The weekly report as XLSX (one sheet per level, numbers as numbers) and as CSV (every level)."""
import io
import tempfile

from flask import Response, send_file

from ..core.spreadsheet import csv_writer, xlsx_append
from ..participants.steps import STEPS
from .figures import VARIANTS, Figures, WeeklyReport

SHEET_TITLES = {"provinsi": "Provinsi", "kota": "Kota", "kecamatan": "Kecamatan", "kelurahan": "Kelurahan"}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def columns() -> list[str]:
    codes = [s.code for s in STEPS]
    return (["Kode", "Wilayah"] + [f"{c} s.d. minggu ini" for c in codes] + [f"{c} baru minggu ini" for c in codes]
            + [f"{c} minggu sebelumnya" for c in codes] + [f"{c} perubahan" for c in codes]
            + ["P4 tahun ini", "Target P4 tahunan", "Capaian target (%)", "Tanpa nomor HP",
               "Peserta dengan langkah tidak berurutan", "Dugaan duplikat (nama + tanggal lahir)",
               "Jumlah target kelurahan"]
            + [f"P{v.step} {v.label} s.d. minggu ini" for v in VARIANTS]
            + [f"P{v.step} {v.label} baru minggu ini" for v in VARIANTS])


def row(f: Figures) -> list:
    share = round(f.attainment * 100, 1) if f.attainment is not None else None
    return ([f.region.code, f.region.name] + f.steps + f.new + f.prev + f.change
            + [f.p4_year, f.target, share, f.no_phone, f.out_of_order, f.duplicates, f.target_sum]
            + [f.variants["total"][v.key] for v in VARIANTS] + [f.variants["new"][v.key] for v in VARIANTS])


def _title(report: WeeklyReport) -> str:
    return (f"Rekap mingguan {report.area.region.name}, {report.monday.strftime('%d-%m-%Y')} s.d. "
            f"{report.sunday.strftime('%d-%m-%Y')}")


def report_xlsx(report: WeeklyReport) -> tempfile.SpooledTemporaryFile:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("Ringkasan")
    xlsx_append(summary, [_title(report)])
    xlsx_append(summary, [])
    xlsx_append(summary, ["Langkah", "Nama", "Total s.d. minggu ini", "Baru minggu ini", "Minggu sebelumnya", "Perubahan"])
    total = report.total
    for i, step in enumerate(STEPS):
        xlsx_append(summary, [step.code, step.name, total.steps[i], total.new[i], total.prev[i], total.change[i]])
    xlsx_append(summary, [])
    xlsx_append(summary, [])
    xlsx_append(summary, ["Rincian", "Nama", "Total s.d. minggu ini", "Baru minggu ini"])
    for v in VARIANTS:
        xlsx_append(summary, [f"P{v.step}", v.label, total.variants["total"][v.key], total.variants["new"][v.key]])
    xlsx_append(summary, [])
    xlsx_append(summary, ["P4 tahun ini", total.p4_year])
    if total.target != total.target_sum:
        xlsx_append(summary, ["Target provinsi (ditetapkan)", total.target])
        xlsx_append(summary, ["Jumlah target kota/kelurahan", total.target_sum])
    else:
        xlsx_append(summary, ["Target P4 tahunan", total.target])
    xlsx_append(summary, ["Tanpa nomor HP", total.no_phone])
    xlsx_append(summary, ["Peserta dengan langkah tidak berurutan", total.out_of_order])
    xlsx_append(summary, ["Dugaan duplikat (nama + tanggal lahir)", total.duplicates])
    for level in [report.area.level] + list(report.levels):
        sheet = workbook.create_sheet(SHEET_TITLES[level])
        xlsx_append(sheet, columns())
        for figures in ([total] if level == report.area.level else report.levels[level]):
            xlsx_append(sheet, row(figures))
    handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    workbook.save(handle)
    handle.seek(0)
    return handle


def xlsx_response(handle, filename: str):
    return send_file(handle, as_attachment=True, download_name=filename, mimetype=XLSX_MIME)


def report_csv(report: WeeklyReport, filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv_writer(buffer)
    writer.writerow(["Tingkat"] + columns())
    writer.writerow([SHEET_TITLES[report.area.level]] + row(report.total))
    for level, rows in report.levels.items():
        for figures in rows:
            writer.writerow([SHEET_TITLES[level]] + row(figures))
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
