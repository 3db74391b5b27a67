"""The training section of the participant page."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.scoping import scoped
from ..extensions import db
from ..participants.sections import register_section
from .models import Certificate, Course, Enrollment


def _load(participant):
    enrollments = db.session.scalars(scoped(select(Enrollment), Enrollment).options(
        joinedload(Enrollment.course).joinedload(Course.meetings)).where(Enrollment.participant_id == participant.id)
        .order_by(Enrollment.enrolled_at)).unique().all()
    if not enrollments:
        return None
    certificates = {c.course_id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.participant_id == participant.id))}
    return {"enrollments": enrollments, "certificates": certificates}


def register() -> None:
    register_section("Pelatihan (P2)", "training/_participant_section.html", _load, order=2)
