"""Market events on the participant page."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..participants.sections import register_section
from .models import Signup


def _load(participant):
    signups = db.session.scalars(select(Signup).options(joinedload(Signup.event))
                                 .where(Signup.participant_id == participant.id).order_by(Signup.created_at)).all()
    return {"signups": signups} if signups else None


def register() -> None:
    register_section("Pemasaran (P5)", "events/_participant_section.html", _load, order=5)
