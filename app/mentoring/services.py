"""Mentoring rules: pendamping of the participant's kecamatan; the first visit completes P3."""
from datetime import date

from sqlalchemy import select

from ..auth.models import User
from ..core import audit
from ..core.errors import DomainError
from ..core.access import PENDAMPING
from ..core.timeutil import today_wib
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import check_step, check_step_date, record_step
from .models import Visit


class MentoringError(DomainError):
    """A rule of this domain broken (see DomainError)."""


def pendamping_choices(kecamatan_id: int) -> list[tuple[int, str]]:
    stmt = select(User).where(User.role == PENDAMPING, User.active.is_(True), User.kecamatan_id == kecamatan_id
                              ).order_by(User.full_name)
    return [(u.id, u.full_name) for u in db.session.scalars(stmt)]


def assign(participants: list[Participant], pendamping_id: int | None) -> int:
    """Assign (or with None, unassign) a pendamping; returns how many changed."""
    changed = 0
    for p in participants:
        if pendamping_id and pendamping_id not in dict(pendamping_choices(p.kecamatan_id)):
            raise MentoringError(f"Pendamping harus pengguna aktif Kecamatan {p.kecamatan.name}.", "pendamping_id")
        if p.pendamping_id == pendamping_id:
            continue
        before = p.pendamping_id
        p.pendamping_id = pendamping_id
        audit.record("participant.assign_pendamping", p, changes={"pendamping_id": {"before": before, "after": pendamping_id}},
                     summary="Pendamping ditetapkan" if pendamping_id else "Pendamping dilepas")
        changed += 1
    return changed


def record_visit(participant: Participant, user, visit_date: date | None, topic: str, notes: str, next_step: str,
                 follow_up_on: date | None) -> Visit:
    if visit_date is None:
        raise MentoringError("Tanggal kunjungan wajib diisi.", "visit_date")
    if visit_date > today_wib():
        raise MentoringError("Tanggal kunjungan tidak boleh di masa depan.", "visit_date")
    check_step_date(participant, visit_date, "Tanggal kunjungan", "visit_date")
    if not (topic or "").strip():
        raise MentoringError("Topik wajib diisi.", "topic")
    if follow_up_on and follow_up_on < visit_date:
        raise MentoringError("Tanggal tindak lanjut harus sesudah tanggal kunjungan.", "follow_up_on")
    check_step(participant, 3)  # (nothing to check once P3 is reached)
    visit = Visit(participant_id=participant.id, pendamping_id=participant.pendamping_id or getattr(user, "id", None),
                  visit_date=visit_date, topic=topic.strip(), notes=(notes or "").strip(),
                  next_step=(next_step or "").strip(), follow_up_on=follow_up_on)
    db.session.add(visit)
    db.session.flush()
    record_step(participant, 3, visit_date, "visit", visit.id)
    audit.record("visit.create", visit, kecamatan_id=participant.kecamatan_id,
                 changes={"visit_date": {"before": None, "after": visit_date.isoformat()},
                          "topic": {"before": None, "after": visit.topic}},
                 summary=f"Kunjungan pendampingan: {visit.topic}")
    return visit
