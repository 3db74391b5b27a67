"""The mentoring section of the participant page."""
from sqlalchemy import select

from ..extensions import db
from ..participants.sections import register_section
from .models import Visit
from .services import pendamping_choices


def _load(participant):
    if participant.status != "active":
        return None
    visits = db.session.scalars(select(Visit).where(Visit.participant_id == participant.id)
                                .order_by(Visit.visit_date.desc())).all()
    return {"p": participant, "visits": visits, "choices": pendamping_choices(participant.kecamatan_id)}


def register() -> None:
    register_section("Pendampingan (P3)", "mentoring/_participant_section.html", _load, order=3)
