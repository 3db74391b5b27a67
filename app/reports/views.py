"""Dashboard with drill-down, and the weekly report on screen, as PDF, XLSX and CSV."""
from datetime import date, timedelta

from flask import abort, render_template, request, url_for
from markupsafe import Markup, escape
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional

from ..core.access import ADMIN, MANAGER, STAFF, roles_required
from ..core.formatting import angka
from ..core.forms import DateInputField
from ..core.scoping import current_scope
from ..core.timeutil import today_wib, utcnow
from ..jobs.documents import document_job, document_response
from ..participants.steps import STEPS
from . import bp
from .jobs import WEEKLY_FILE
from .views_submission import submission_panel
from .weeks import WeekForm, chosen_week
from .figures import (ACTIONS, LEVEL_LABELS, VARIANTS, Region, area_for, dashboard, monday_of,
                      weekly_report)

REPORT_ROLES = (ADMIN, MANAGER, STAFF)


@bp.app_template_global("dashboard_url")
def dashboard_url(region: Region) -> str:
    if region.level == "provinsi":
        return url_for("reports.dashboard_page")
    return url_for(f"reports.dashboard_{region.level}", **{f"{region.level}_id": region.id})


@bp.app_template_global("report_url")
def report_url(region: Region, fmt: str | None = None, **args) -> str:
    suffix = "_file" if fmt else ""
    values = dict(args, **({"fmt": fmt} if fmt else {}))
    if region.level == "provinsi":
        return url_for(f"reports.weekly{suffix}", **values)
    return url_for(f"reports.weekly_{region.level}{suffix}", **{f"{region.level}_id": region.id}, **values)


DOMICILE_FILTER = {"kota": "kota", "kecamatan": "kecamatan", "kelurahan": "kelurahan"}


@bp.app_template_global("figure_href")
def figure_href(region: Region, **filters) -> str:
    """The participant list that holds exactly the participants a figure counts: the region by
    domicile (as the figures count), plus ``filters`` (step, capai_dari/capai_sampai, channel, izin,
    aksi, tanpa_hp, tak_urut, duplikat); dates as ISO days."""
    args = {DOMICILE_FILTER[region.level]: region.id} if region.level in DOMICILE_FILTER else {}
    args.update({k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v not in (None, "")})
    return url_for("participants.index", **args)


@bp.app_template_global("figure_link")
def figure_link(n: int, region: Region, **filters) -> Markup:
    """A figure as a link to its list (:func:`figure_href`); ``data-count`` carries the figure for tests and scripts."""
    href = figure_href(region, **filters)
    return Markup(f'<a class="figure" href="{escape(href)}" data-count="{int(n)}">{escape(angka(n))}</a>')


class DashboardForm(FlaskForm):
    """The year of the licence figures and the "as of" day of every figure (GET, no CSRF)."""

    class Meta:
        csrf = False

    tahun = StringField("Tahun", validators=[Optional()])
    per = DateInputField("Keadaan per tanggal", validators=[Optional()],
                         description="Angka dihitung dari langkah bertanggal pada atau sebelum tanggal ini.")


FIRST_YEAR = 2017  # OK OCE began on 14 December 2017


def _dashboard_choice(form: DashboardForm):
    """(year, as-of day) from the form, or None with an Indonesian message on the field."""
    today = today_wib()
    form.validate()
    if form.per.errors:
        return None
    per = form.per.data or today
    if per > today:
        form.per.errors = ["Tanggal itu belum tiba; pilih hari ini atau tanggal sebelumnya."]
        return None
    if per.year < FIRST_YEAR:
        form.per.errors = [f"Program dimulai tahun {FIRST_YEAR}; pilih tanggal sejak 1 Januari {FIRST_YEAR}."]
        return None
    raw = (form.tahun.data or "").strip()
    if not raw:
        return per.year, per
    if not raw.isdigit() or len(raw) != 4:
        form.tahun.errors = ["Tahun harus empat angka, mis. 2018."]
        return None
    year = int(raw)
    if not FIRST_YEAR <= year <= per.year:
        form.tahun.errors = [f"Pilih tahun {FIRST_YEAR} sampai {per.year} (tahun tanggal keadaan)."]
        return None
    return year, per


def _dashboard(level: str | None = None, ident: int | None = None):
    area = area_for(current_scope(), level, ident)
    form = DashboardForm(request.args)
    choice = _dashboard_choice(form)
    if choice is None:
        return render_template("reports/dashboard.html", board=None, area=area, level_labels=LEVEL_LABELS,
                               actions=ACTIONS, form=form, variants=VARIANTS), 400
    year, per = choice
    board = dashboard(area, today_wib(), year=year, per=per)
    return render_template("reports/dashboard.html", board=board, area=area, level_labels=LEVEL_LABELS,
                           actions=ACTIONS, form=form, variants=VARIANTS,
                           years=list(range(per.year, FIRST_YEAR - 1, -1)))


@bp.get("/dasbor")
@roles_required(*REPORT_ROLES)
def dashboard_page():
    return _dashboard()


@bp.get("/dasbor/kota/<int:kota_id>")
@roles_required(*REPORT_ROLES)
def dashboard_kota(kota_id: int):
    return _dashboard("kota", kota_id)


@bp.get("/dasbor/kecamatan/<int:kecamatan_id>")
@roles_required(*REPORT_ROLES)
def dashboard_kecamatan(kecamatan_id: int):
    return _dashboard("kecamatan", kecamatan_id)


@bp.get("/dasbor/kelurahan/<int:kelurahan_id>")
@roles_required(*REPORT_ROLES)
def dashboard_kelurahan(kelurahan_id: int):
    return _dashboard("kelurahan", kelurahan_id)


# --- Weekly report -------------------------------------------------------------------------

def _weekly(level: str | None, ident: int | None, fmt: str | None):
    area = area_for(current_scope(), level, ident)
    form = WeekForm(request.args)
    monday = chosen_week(form)
    if monday is None:
        if fmt:
            abort(400)
        return render_template("reports/weekly.html", area=area, form=form, report=None,
                               level_labels=LEVEL_LABELS, steps=STEPS), 400
    if fmt is None:
        report = weekly_report(area, monday)
        panel = submission_panel(area.region.id, monday) if area.level == "kecamatan" else None
        return render_template("reports/weekly.html", area=area, form=form, report=report, variants=VARIANTS,
                               figure_links=True, panel=panel,
                               level_labels=LEVEL_LABELS, steps=STEPS, current_week=monday == monday_of(today_wib()))
    if fmt not in ("pdf", "xlsx", "csv"):
        abort(404)
    # A kota's or the province's file is made by the worker (a button, then a job); a kecamatan's at once.
    params = {"level": area.level, "ident": area.region.id if area.level != "provinsi" else None, "fmt": fmt,
              "minggu": monday.isoformat(), "kertas": "F4" if request.args.get("kertas") == "F4" else "A4"}
    if request.method == "POST":
        return document_job(WEEKLY_FILE, params)
    return document_response(WEEKLY_FILE, params)


@bp.get("/laporan/mingguan")
@roles_required(*REPORT_ROLES)
def weekly():
    return _weekly(None, None, None)


@bp.route("/laporan/mingguan.<fmt>", methods=["GET", "POST"])
@roles_required(*REPORT_ROLES)
def weekly_file(fmt: str):
    return _weekly(None, None, fmt)


@bp.get("/laporan/mingguan/kota/<int:kota_id>")
@roles_required(*REPORT_ROLES)
def weekly_kota(kota_id: int):
    return _weekly("kota", kota_id, None)


@bp.route("/laporan/mingguan/kota/<int:kota_id>.<fmt>", methods=["GET", "POST"])
@roles_required(*REPORT_ROLES)
def weekly_kota_file(kota_id: int, fmt: str):
    return _weekly("kota", kota_id, fmt)


@bp.get("/laporan/mingguan/kecamatan/<int:kecamatan_id>")
@roles_required(*REPORT_ROLES)
def weekly_kecamatan(kecamatan_id: int):
    return _weekly("kecamatan", kecamatan_id, None)


@bp.route("/laporan/mingguan/kecamatan/<int:kecamatan_id>.<fmt>", methods=["GET", "POST"])
@roles_required(*REPORT_ROLES)
def weekly_kecamatan_file(kecamatan_id: int, fmt: str):
    return _weekly("kecamatan", kecamatan_id, fmt)
