"""Every multi-record change is one transaction: a failure forced mid-way leaves nothing behind.

Each test lets the first part of a change reach the database (flushed rows, a counter taken,
tally triggers fired, savepoints released), then makes a service called later in the same
request raise, and checks that none of it was saved. (The import has its own in test_import.)
"""
import pytest
from sqlalchemy import func, select

import app.core.audit as audit_module
from app.core.audit import AuditLog
from app.core.sequences import SequenceCounter
from app.events.models import Signup
from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from app.training.models import Enrollment
from tests.conftest import post_form
from tests.test_events import make_event, people


@pytest.fixture
def errors_as_500(app):
    """Let the app answer an unexpected error with its 500 page, as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


def fail_on(monkeypatch, target, name: str, when):
    """Replace ``target.name`` by a wrapper that raises on the first call for which ``when(n, args)``."""
    original = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if when(calls["n"], args):
            raise RuntimeError("gagal di tengah jalan")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)
    return calls


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def tallies() -> list:
    """Every row of the trigger-kept summary tables (they must roll back with the steps)."""
    return [list(db.session.execute(select(t)).all())
            for t in (db.metadata.tables["step_tally"], db.metadata.tables["participant_tally"])]


def test_bulk_enrolment_failing_mid_way_saves_no_one(app, client, login_as, make_participant, make_course,
                                                     monkeypatch, errors_as_500):
    course_id = make_course()
    ids = people(make_participant, 3)
    login_as("staff")
    # The enrolments are flushed, then the second audit entry fails.
    calls = fail_on(monkeypatch, audit_module, "record", lambda n, args: args[0] == "enrollment.create" and n == 2)
    response = post_form(client, f"/pelatihan/{course_id}/peserta", {"participant_id": [str(i) for i in ids]},
                         token_url=f"/pelatihan/{course_id}")
    assert response.status_code == 500 and "Terjadi kesalahan" in response.get_data(as_text=True)
    assert calls["n"] == 2
    with app.app_context():
        assert count(Enrollment) == 0
        assert count(AuditLog, AuditLog.action == "enrollment.create") == 0
    monkeypatch.undo()  # the same request succeeds once nothing fails
    ok = post_form(client, f"/pelatihan/{course_id}/peserta", {"participant_id": [str(i) for i in ids]},
                   token_url=f"/pelatihan/{course_id}")
    assert ok.status_code == 302
    with app.app_context():
        assert count(Enrollment) == 3


def test_verification_failing_mid_way_takes_no_number_step_or_tally(app, client, login_as, make_participant,
                                                                   monkeypatch, errors_as_500):
    pid = make_participant(channel="online", nik="3174015505959905", name="Dewi Lestari")
    login_as("staff")
    with app.app_context():
        counters, summary = db.session.execute(select(SequenceCounter)).all(), tallies()
    # Activation (status, registration number from the counter, P1 step, tally triggers) is done
    # when the audit entry of the verification fails.
    fail_on(monkeypatch, audit_module, "record", lambda n, args: args[0] == "participant.verify")
    response = post_form(client, f"/peserta/{pid}/verifikasi", {}, token_url="/peserta/antrean")
    assert response.status_code == 500
    with app.app_context():
        p = db.session.get(Participant, pid)
        assert (p.status, p.reg_number, p.verified_at) == ("pending", None, None)
        assert count(ParticipantStep) == 0
        assert db.session.execute(select(SequenceCounter)).all() == counters
        assert tallies() == summary
    monkeypatch.undo()
    post_form(client, f"/peserta/{pid}/verifikasi", {}, token_url="/peserta/antrean")
    with app.app_context():
        assert db.session.get(Participant, pid).reg_number == "317401-2026-00001"  # the number was given back


def test_bulk_event_sign_up_failing_mid_way_keeps_no_released_savepoint(app, client, login_as, make_participant,
                                                                        monkeypatch, errors_as_500):
    """Each sign-up has its own savepoint (a refusal skips one person); a crash undoes them all."""
    import app.events.views as event_views

    event_id = make_event(app, booths=10)
    ids = people(make_participant, 3)
    login_as("staff")
    fail_on(monkeypatch, event_views, "sign_up", lambda n, args: n == 3)
    response = post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]},
                         token_url=f"/acara/{event_id}")
    assert response.status_code == 500
    with app.app_context():
        assert count(Signup) == 0
        assert count(AuditLog, AuditLog.action == "signup.create") == 0
