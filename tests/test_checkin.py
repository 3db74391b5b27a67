"""Check-in at a training roster: one service for the tap, the QR code and the typed number, with an
explicit outcome code for each case; a refused check-in leaves nothing behind."""
from sqlalchemy import func, select

from app.core import checkin
from app.extensions import db
from app.participants.models import Participant
from app.training.models import Attendance, Enrollment, Meeting
from app.training.services import check_in, mark_outcome
from tests.test_training import enrol_new, meetings_of


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_case_has_its_outcome_and_only_accepted_ones_are_kept(app, make_user, make_course, make_participant):
    staff = make_user("staff", username="meja.hadir")
    course_id = make_course(capacity=1)
    (enrolled,) = enrol_new(app, make_participant, course_id, 1)
    outsider = make_participant(nik="3174011708859998", name="Belum Ikut")
    meeting_id = meetings_of(app, course_id)[0]
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        user = db.session.merge(staff)
        number = db.session.get(Participant, outsider).reg_number
        first = db.session.get(Enrollment, enrolled).participant.reg_number
        kinds = []
        for typed, enrol_now in (("bukan nomor", False), ("317401-2026-09999", False), (number, False),
                                 (number, True), (first.replace("-", ""), False), (first, False)):
            outcome = check_in(meeting, typed, user, enrol_now=enrol_now)
            kinds.append(outcome.kind)
            if outcome.accepted:
                db.session.commit()
            else:
                db.session.rollback()
            meeting = db.session.get(Meeting, meeting_id)
        assert kinds == [checkin.INVALID, checkin.UNKNOWN, checkin.NOT_ENROLLED, checkin.FULL, checkin.OK,
                         checkin.ALREADY]
        # The full class refused the outsider: no enrolment, no mark was kept for them.
        assert count(Enrollment) == 1 and count(Attendance) == 1
        # A tap goes through the same service: a status it does not know is refused, by code.
        enrollment = db.session.get(Enrollment, enrolled)
        refused = mark_outcome(meeting, enrollment, "entah", user)
        assert (refused.kind, refused.accepted) == (checkin.BLOCKED, False) and "tidak dikenal" in refused.message
        db.session.rollback()
