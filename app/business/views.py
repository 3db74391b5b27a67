from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..core.access import ADMIN, PENDAMPING, STAFF, roles_required
from ..core.errors import DomainError
from ..core.converters import parse_id
from ..core.forms import show_error
from ..core.scoping import get_or_404
from ..core.timeutil import parse_date
from ..extensions import db
from ..participants.models import Participant
from . import bp
from .forms import CapitalForm, ReportForm
from .models import CAPITAL_STATUSES, CapitalApplication, FinancialReport
from .services import BusinessError, add_capital, save_report, set_capital_status

ROLES = (ADMIN, STAFF, PENDAMPING)


def _month(text: str | None) -> date | None:
    """``2026-10`` → the first of that month (within the sane date range), else None."""
    year, _, month = (text or "").strip().partition("-")
    if not (year.isascii() and year.isdigit() and len(year) == 4 and month.isascii() and month.isdigit()
            and len(month) <= 2):
        return None
    return parse_date(f"{year}-{int(month):02d}-01")


@bp.route("/peserta/<int:participant_id>/keuangan", methods=["GET", "POST"])
@roles_required(*ROLES)
def reports(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    editing = None
    if (report_id := parse_id(request.args.get("ubah"))) is not None:
        editing = db.session.scalars(select(FinancialReport).where(
            FinancialReport.id == report_id, FinancialReport.participant_id == participant.id)).first()
    form = ReportForm(obj=editing) if editing and request.method == "GET" else ReportForm()
    if editing and request.method == "GET":
        form.month.data = editing.month.strftime("%Y-%m")
        form.revenue.data, form.costs.data = f"{editing.revenue:,}".replace(",", "."), f"{editing.costs:,}".replace(",", ".")
    if form.validate_on_submit():
        month = _month(form.month.data)
        try:
            if form.month.data and month is None:
                raise BusinessError("Bulan harus berformat tahun-bulan, mis. 2026-10.", "month")
            save_report(participant, month, form.revenue.data, form.costs.data, form.employees.data, form.note.data,
                        current_user, report=editing)
        except DomainError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Laporan keuangan disimpan.", "success")
            return redirect(url_for("business.reports", participant_id=participant.id))
    rows = db.session.scalars(select(FinancialReport).where(FinancialReport.participant_id == participant.id)
                              .order_by(FinancialReport.month.desc())).all()
    status = 422 if form.is_submitted() else 200
    return render_template("business/reports.html", form=form, p=participant, rows=rows, editing=editing), status


@bp.route("/peserta/<int:participant_id>/permodalan", methods=["GET", "POST"])
@roles_required(*ROLES)
def capital(participant_id: int):
    participant = get_or_404(Participant, participant_id)
    form = CapitalForm()
    if form.validate_on_submit():
        try:
            add_capital(participant, form.institution.data, form.product.data, form.amount.data, form.referred_on.data,
                        current_user)
        except DomainError as err:
            db.session.rollback()
            participant = get_or_404(Participant, participant_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Rujukan permodalan dicatat.", "success")
            return redirect(url_for("business.capital", participant_id=participant.id))
    rows = db.session.scalars(select(CapitalApplication).where(CapitalApplication.participant_id == participant.id)
                              .order_by(CapitalApplication.referred_on.desc())).all()
    status = 422 if form.is_submitted() else 200
    return render_template("business/capital.html", form=form, p=participant, rows=rows, statuses=CAPITAL_STATUSES), status


@bp.post("/permodalan/<int:application_id>/status")
@roles_required(*ROLES)
def capital_status(application_id: int):
    application = get_or_404(CapitalApplication, application_id)
    on = parse_date(request.form.get("on"))
    try:
        set_capital_status(application, request.form.get("status", ""), on)
    except DomainError as err:
        db.session.rollback()
        show_error(err)
    else:
        db.session.commit()
        flash(f"Status permodalan: {application.status_label}.", "success")
    return redirect(url_for("business.capital", participant_id=application.participant_id))
