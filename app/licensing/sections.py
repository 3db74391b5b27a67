"""The licensing section of the participant page."""
from sqlalchemy import select

from ..extensions import db
from ..participants.sections import register_section
from .models import License, SkuLetter


def _load(participant):
    if participant.status != "active":
        return None
    licenses = db.session.scalars(select(License).where(License.participant_id == participant.id)
                                  .order_by(License.issued_on)).all()
    letters = db.session.scalars(select(SkuLetter).where(SkuLetter.participant_id == participant.id)
                                 .order_by(SkuLetter.id)).all()
    return {"licenses": licenses, "letters": letters, "p": participant}


def register() -> None:
    register_section("Izin usaha (P4)", "licensing/_participant_section.html", _load, order=4)
