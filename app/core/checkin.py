"""Check-in outcomes: what marking someone present at a roster came to, whatever the channel (a tap
on the roster, a card's QR code, a typed registration number or NIK).

Each kind of roster has one check-in service (``training.services.check_in`` and ``mark_outcome``
for a meeting, ``events.services.check_in`` and ``attendance_outcome`` for an event), used by every
channel; they flush and never commit. The view commits when the outcome is accepted and rolls back
otherwise, so a refused check-in leaves nothing behind (not even an enrolment made on the way).
"""
from dataclasses import dataclass
from typing import Any

OK = "ok"                      # marked now
ALREADY = "already"            # was marked before: nothing changed
INVALID = "invalid"            # neither a registration number nor a NIK
UNKNOWN = "unknown"            # no such participant on this roster's side
NOT_ENROLLED = "not_enrolled"  # a participant, not on this course (may be enrolled on the spot)
NOT_CONFIRMED = "not_confirmed"  # an event sign-up that is waiting or cancelled
FULL = "full"                  # enrolling on the spot refused (class full, step order)
BLOCKED = "blocked"            # a rule refuses the mark (step order, a date, a closed meeting)
REFUSED = "refused"            # this user may not record attendance here at all
SUPERSEDED = "superseded"      # a later mark (by the time it was made) already stands: kept in the audit only

ACCEPTED = frozenset({OK, ALREADY, SUPERSEDED})


@dataclass
class Outcome:
    kind: str
    number: str = ""
    participant: Any = None
    signup: Any = None
    status: str | None = None
    message: str | None = None
    seats: int | None = None
    code: str | None = None  # the domain error's code behind a refusal (e.g. not the organiser)

    @property
    def accepted(self) -> bool:
        return self.kind in ACCEPTED
