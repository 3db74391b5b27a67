"""Action lists: participants a kecamatan office should follow up, as participant-list filters.

The dashboard counts them per kelurahan (from the steps tally); the participant list shows them
(``/peserta?aksi=…``) with the condition below, so a count and its list always agree.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_

from ..core.timeutil import utcnow
from .models import Participant

PENDING_DAYS = 7



@dataclass(frozen=True)
class Action:
    label: str
    short: str
    has: int | None = None    # step bit the participant has (None: the online-queue rule)
    lacks: int | None = None  # step bit it lacks


ACTIONS = {
    "latih_belum_izin": Action("Sudah pelatihan (P2), belum berizin (P4)", "Terlatih, belum berizin", 1 << 1, 1 << 3),
    "izin_belum_pasar": Action("Sudah berizin (P4), belum pernah ikut acara pemasaran (P5)",
                               "Berizin, belum ikut acara", 1 << 3, 1 << 4),
    "daring_tertunda": Action(f"Daftar daring, belum diverifikasi lebih dari {PENDING_DAYS} hari",
                              f"Daring > {PENDING_DAYS} hari belum diverifikasi"),
}


def pending_cutoff() -> datetime:
    """Online registrations before this (naive UTC) moment have waited more than PENDING_DAYS days."""
    return utcnow() - timedelta(days=PENDING_DAYS)


def action_condition(key: str):
    has, lacks = ACTIONS[key].has, ACTIONS[key].lacks
    if has is None:
        return and_(Participant.channel == "online", Participant.status == "pending",
                    Participant.registered_at < pending_cutoff())
    return and_(Participant.steps_mask.op("&")(has) != 0, Participant.steps_mask.op("&")(lacks) == 0)


def mask_matches(key: str, mask: int) -> bool:
    """Whether a participant with these steps belongs on the action list ``key`` (step rules only)."""
    has, lacks = ACTIONS[key].has, ACTIONS[key].lacks
    return has is not None and bool(mask & has) and not mask & lacks
