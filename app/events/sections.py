"""Market events on the participant page."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..participants.sections import register_section
from ..core.scoping import scoped
from ..core.timeutil import today_wib
from .models import Event, Signup
from .services import eligible


def _load(participant):
    """Their sign-ups, and the open events (visible to the user, sign-up window open) they may join."""
    if participant.status != "active":
        return None
    signups = db.session.scalars(select(Signup).options(joinedload(Signup.event))
                                 .where(Signup.participant_id == participant.id).order_by(Signup.created_at)).all()
    today = today_wib()
    joined = {s.event_id for s in signups if s.status != "cancelled"}
    open_events = [e for e in db.session.scalars(scoped(select(Event), Event).where(
        Event.signup_opens <= today, Event.signup_closes >= today).order_by(Event.starts_on).limit(50))
        if e.id not in joined and eligible(e, participant)]
    from ..participants.services import missing_steps, missing_steps_phrase
    from .services import MARKET_STEP

    missing = missing_steps(participant, MARKET_STEP) if open_events else []
    return {"p": participant, "signups": signups, "open_events": open_events,
            "step_block": missing_steps_phrase(missing) if missing else None}


def register() -> None:
    register_section("Pemasaran (P5)", "events/_participant_section.html", _load, order=5)
