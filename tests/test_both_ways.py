"""Every view that answers a whole page or an htmx fragment is answered both ways: the page for a
plain request (a bookmark, a reload, a browser without JavaScript) and the fragment for htmx.
The list of such views is read from the code, so a new one must be added here."""
import inspect

import pytest
from sqlalchemy import select

from app.events.models import Signup
from app.events.services import sign_up
from app.extensions import db
from app.participants.models import Participant
from app.training.models import Enrollment
from tests.conftest import csrf_from
from tests.test_events import make_event, people
from tests.test_steps import set_mode
from tests.test_training import enrol_new, meetings_of

HTMX = {"HX-Request": "true"}


def answering_both_ways(app) -> set[str]:
    found = set()
    for endpoint, view in app.view_functions.items():
        try:
            source = inspect.getsource(inspect.unwrap(view))
        except (OSError, TypeError):
            continue
        if " render(" in source or "wants_fragment()" in source:
            found.add(endpoint)
    return found


@pytest.fixture
def world(app, client, login_as, make_course, make_participant):
    set_mode(app, "bebas")
    admin = login_as("admin")
    course_id = make_course()
    (enrollment_id,) = enrol_new(app, make_participant, course_id, 1)
    meeting_id = meetings_of(app, course_id)[0]
    event_id = make_event(app, closes_in=0)
    (guest,) = people(make_participant, 1, start=50)
    with app.app_context():
        signup = sign_up(event_id, db.session.get(Participant, guest), None)
        db.session.commit()
        reg_number = db.session.get(Enrollment, enrollment_id).participant.reg_number
        signup_id = db.session.scalars(select(Signup.id).where(Signup.id == signup.id)).one()
        from app.auth.models import User
        from app.jobs.services import create_job

        job = create_job("participants.export", "Ekspor uji", db.session.get(User, admin.id), {"fmt": "csv", "args": {}})
        db.session.commit()
        job_id = job.id
    return {"course": course_id, "meeting": meeting_id, "enrollment": enrollment_id, "event": event_id,
            "signup": signup_id, "reg_number": reg_number, "job": job_id}


def requests_for(w: dict) -> dict[str, list[tuple[str, str, dict]]]:
    """endpoint → (method, url, form) sent once plainly and once by htmx."""
    return {
        "auth.users": [("GET", "/admin/pengguna?q=a", {})],
        "audit.index": [("GET", "/admin/audit?tindakan=participant", {})],
        "participants.index": [("GET", "/peserta?q=Peserta", {})],
        "participants.queue": [("GET", "/peserta/antrean", {})],
        "training.enrol_search": [("GET", f"/pelatihan/{w['course']}/cari-peserta?q=Peserta", {})],
        "training.roster": [("GET", f"/pertemuan/{w['meeting']}?filter=belum", {})],
        "jobs.show": [("GET", f"/pekerjaan/{w['job']}", {})],
        "training.mark_one": [("POST", f"/pertemuan/{w['meeting']}/tandai/{w['enrollment']}", {"status": "hadir"})],
        # (After the marks above: what changed since revision 0; a plain GET goes back to the roster.)
        "training.roster_changes": [("GET", f"/pertemuan/{w['meeting']}/perubahan?sejak=0", {})],
        # (The check-in pages' fragment is the result of a check-in: their GET is tested as a page.)
        "training.checkin": [("POST", f"/pertemuan/{w['meeting']}/check-in", {"reg_number": w["reg_number"]})],
        "events.search": [("GET", f"/acara/{w['event']}/cari-peserta?q=Pedagang", {})],
        "events.checkin": [("POST", f"/acara/{w['event']}/check-in", {"reg_number": "317401-2026-09999"})],
        "events.roster_mark": [("POST", f"/acara/{w['event']}/kehadiran/{w['signup']}", {"hadir": "1"})],
        # (After that mark: what changed since revision 1, the sign-up that gave the list its row.)
        "events.roster_changes": [("GET", f"/acara/{w['event']}/kehadiran/perubahan?sejak=1", {})],
    }


def test_the_list_of_views_answering_both_ways_is_complete(app):
    assert answering_both_ways(app) == set(requests_for({k: 0 for k in (
        "course", "meeting", "enrollment", "event", "signup", "reg_number", "job")}))


def test_each_answers_a_whole_page_plainly_and_a_fragment_to_htmx(app, client, world):
    token = csrf_from(client, "/")
    for endpoint, sends in requests_for(world).items():
        for method, url, form in sends:
            data = {**form, "csrf_token": token} if method == "POST" else None
            plain = client.open(url, method=method, data=data)
            if plain.status_code == 302:  # a form's plain answer: back to its page
                plain = client.get(plain.headers["Location"])
            fragment = client.open(url, method=method, data=data, headers=HTMX)
            plain_html, fragment_html = plain.get_data(as_text=True), fragment.get_data(as_text=True)
            assert plain.status_code in (200, 422) and "<html" in plain_html, (endpoint, method, plain.status_code)
            assert fragment.status_code in (200, 422) and "<html" not in fragment_html and fragment_html.strip(), (
                endpoint, method, fragment.status_code)
    for url in (f"/pertemuan/{world['meeting']}/check-in", f"/acara/{world['event']}/check-in"):
        page = client.get(url)
        assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
