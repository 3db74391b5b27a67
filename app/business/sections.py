"""P6 and P7 on the participant page."""
from sqlalchemy import select

from ..extensions import db
from ..participants.sections import register_section
from .models import CapitalApplication, FinancialReport


def _load(participant):
    if participant.status != "active":
        return None
    reports = db.session.scalars(select(FinancialReport).where(FinancialReport.participant_id == participant.id)
                                 .order_by(FinancialReport.month.desc()).limit(6)).all()
    capital = db.session.scalars(select(CapitalApplication).where(CapitalApplication.participant_id == participant.id)
                                 .order_by(CapitalApplication.referred_on.desc())).all()
    return {"p": participant, "reports": reports, "capital": capital}


def register() -> None:
    register_section("Laporan keuangan (P6) dan permodalan (P7)", "business/_participant_section.html", _load, order=6)
