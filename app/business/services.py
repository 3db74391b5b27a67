"""P6 and P7 rules: one report per month (edit instead), amounts in Rupiah, approval completes P7."""
import re
from datetime import date

from babel.dates import format_date
from sqlalchemy import select

from ..core import audit
from ..core.errors import DomainError
from ..core.db import lock_row
from ..core.timeutil import today_wib
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import check_step, check_step_date, record_step, registration_date
from .models import CAPITAL_STATUSES, CapitalApplication, FinancialReport

MAX_AMOUNT = 10**13


class BusinessError(DomainError):
    """A rule of this domain broken (see DomainError)."""


def parse_rupiah(raw: str | None, field: str, label: str) -> int:
    """'1.500.000', '1500000', 'Rp 1.500.000' → 1500000; negative or non-numbers refused."""
    text = (raw or "").strip().replace("Rp", "").replace("rp", "").strip()
    if not text:
        raise BusinessError(f"{label} wajib diisi.", field)
    if text.startswith("-"):
        raise BusinessError(f"{label} tidak boleh negatif.", field)
    if not re.fullmatch(r"\d{1,3}(\.\d{3})+|\d+", text.replace(" ", "")):
        raise BusinessError(f"{label} harus angka rupiah, mis. 1.500.000.", field)
    digits = text.replace(".", "").replace(" ", "").lstrip("0") or "0"
    if len(digits) > len(str(MAX_AMOUNT)):  # also keeps int() below its 4,300-digit limit
        raise BusinessError(f"{label} terlalu besar.", field)
    value = int(digits)
    if value > MAX_AMOUNT:
        raise BusinessError(f"{label} terlalu besar.", field)
    return value


def save_report(participant: Participant, month: date | None, revenue: str, costs: str, employees: int | None,
                note: str, user, report: FinancialReport | None = None) -> FinancialReport:
    if month is None:
        raise BusinessError("Pilih bulan laporan.", "month")
    month = month.replace(day=1)
    if month > today_wib().replace(day=1):
        raise BusinessError("Bulan laporan tidak boleh di masa depan.", "month")
    revenue_value = parse_rupiah(revenue, "revenue", "Omzet")
    costs_value = parse_rupiah(costs, "costs", "Biaya")
    if employees is None or employees < 0 or employees > 10000:
        raise BusinessError("Jumlah karyawan 0 sampai 10.000.", "employees")
    registered = registration_date(participant)
    if registered is not None and month < registered.replace(day=1):
        raise BusinessError(f"Bulan laporan tidak boleh sebelum bulan pendaftaran peserta (P1), "
                            f"{format_date(registered, 'MMMM y', locale='id')}.", "month")
    lock_row(Participant, participant.id)  # one report per month: a second request waits, then sees it
    duplicate = db.session.scalars(select(FinancialReport).where(
        FinancialReport.participant_id == participant.id, FinancialReport.month == month)).first()
    if duplicate is not None and (report is None or duplicate.id != report.id):
        raise BusinessError("Laporan bulan ini sudah ada; ubah laporan tersebut.", "month")
    if report is None:
        check_step(participant, 6)
        report = FinancialReport(participant_id=participant.id, month=month, revenue=revenue_value, costs=costs_value,
                                 employees=employees, note=(note or "").strip()[:500],
                                 recorded_by_id=getattr(user, "id", None))
        db.session.add(report)
        db.session.flush()
        audit.record("financial_report.create", report, kecamatan_id=participant.kecamatan_id,
                     changes={"month": {"before": None, "after": month.isoformat()},
                              "revenue": {"before": None, "after": revenue_value}},
                     summary=f"Laporan keuangan {month.month:02d}/{month.year}")
    else:
        before = audit.snapshot(report)
        report.month, report.revenue, report.costs = month, revenue_value, costs_value
        report.employees, report.note = employees, (note or "").strip()[:500]
        changes = {k: v for k, v in audit.diff(before, report).items()}
        if changes:
            audit.record("financial_report.update", report, kecamatan_id=participant.kecamatan_id, changes=changes,
                         summary=f"Laporan keuangan {month.month:02d}/{month.year} diubah")
    first = min(db.session.scalars(select(FinancialReport.month).where(
        FinancialReport.participant_id == participant.id)))
    # The month of registration counts from the registration day itself (no step before P1).
    record_step(participant, 6, max(first, registered or first), "financial_report", report.id)
    return report


def add_capital(participant: Participant, institution: str, product: str, amount: str, referred_on: date | None,
                user) -> CapitalApplication:
    institution, product = (institution or "").strip(), (product or "").strip()
    if not institution:
        raise BusinessError("Lembaga wajib diisi.", "institution")
    if not product:
        raise BusinessError("Produk wajib diisi, mis. KUR Mikro.", "product")
    value = parse_rupiah(amount, "amount", "Jumlah")
    if referred_on is None:
        raise BusinessError("Tanggal rujukan wajib diisi.", "referred_on")
    if referred_on > today_wib():
        raise BusinessError("Tanggal tidak boleh di masa depan.", "referred_on")
    check_step_date(participant, referred_on, "Tanggal rujukan", "referred_on")
    application = CapitalApplication(participant_id=participant.id, institution=institution[:150],
                                     product=product[:100], amount=value, referred_on=referred_on,
                                     recorded_by_id=getattr(user, "id", None))
    db.session.add(application)
    db.session.flush()
    audit.record("capital.create", application, kecamatan_id=participant.kecamatan_id,
                 changes={"institution": {"before": None, "after": institution}, "amount": {"before": None, "after": value}},
                 summary=f"Rujukan permodalan {product} ke {institution}")
    return application


NEXT = {"referred": {"applied", "rejected"}, "applied": {"approved", "rejected"}, "approved": set(), "rejected": set()}


def set_capital_status(application: CapitalApplication, status: str, on: date | None) -> None:
    lock_row(CapitalApplication, application.id)  # one change of status, whatever arrives at once
    if status not in CAPITAL_STATUSES or status not in NEXT[application.status]:
        raise BusinessError(f"Status tidak dapat diubah dari {application.status_label} ke "
                            f"{CAPITAL_STATUSES.get(status, status)}.", "status")
    if on is None or on > today_wib():
        raise BusinessError("Tanggal wajib diisi dan tidak boleh di masa depan.", "on")
    if on < application.referred_on:
        raise BusinessError("Tanggal tidak boleh sebelum tanggal rujukan.", "on")
    participant = application.participant
    check_step_date(participant, on, "Tanggal", "on")
    if status == "approved":
        check_step(participant, 7)
    before = audit.snapshot(application)
    application.status = status
    if status == "applied":
        application.applied_on = on
    else:
        application.decided_on = on
    if status == "approved":
        record_step(participant, 7, on, "capital", application.id)
    audit.record("capital.status", application, kecamatan_id=participant.kecamatan_id,
                 changes=audit.diff(before, application), summary=f"Permodalan: {CAPITAL_STATUSES[status]}")

