from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.scoping import Scope
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant, participant_scope


class Visit(db.Model):
    """A pendamping's visit to a participant; the first one completes P3."""

    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_participant_date", "participant_id", "visit_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    pendamping_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(150))
    notes: Mapped[str] = mapped_column(String(2000), default="")
    next_step: Mapped[str] = mapped_column(String(300), default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship()
    pendamping = relationship("User")

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)
