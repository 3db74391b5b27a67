from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit_words import label_values
from ..core.scoping import Scope
from ..core.timeutil import utcnow
from ..extensions import db
from ..participants.models import Participant, participant_scope

CAPITAL_STATUSES = {"referred": "Dirujuk", "applied": "Diajukan", "approved": "Disetujui", "rejected": "Ditolak"}


class FinancialReport(db.Model):
    __tablename__ = "financial_report"
    __table_args__ = (UniqueConstraint("participant_id", "month", name="uq_financial_report_participant_month"),
                      CheckConstraint("revenue >= 0 and costs >= 0 and employees >= 0", name="non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    revenue: Mapped[int] = mapped_column(BigInteger)
    costs: Mapped[int] = mapped_column(BigInteger)
    employees: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship()

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)


class CapitalApplication(db.Model):
    __tablename__ = "capital_application"
    __table_args__ = (CheckConstraint("status in ('referred', 'applied', 'approved', 'rejected')", name="status"),
                      CheckConstraint("amount >= 0", name="amount"))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    institution: Mapped[str] = mapped_column(String(150))
    product: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="referred")
    referred_on: Mapped[date] = mapped_column(Date)
    applied_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship()

    @property
    def status_label(self) -> str:
        return CAPITAL_STATUSES[self.status]

    @classmethod
    def scope_clause(cls, scope: Scope):
        return participant_scope(cls.participant_id, scope)


# The audit log and participant history show these codes in words.
label_values("capital_application", "status", CAPITAL_STATUSES)
