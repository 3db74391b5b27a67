"""Phone and words (issue 14): the facilitator's home agenda, list tables that become labelled cards
(every cell carries data-label), the folding menu's markup, and dates in words next to date fields."""
import re
from datetime import timedelta
from html.parser import HTMLParser

from app.core.timeutil import today_wib
from app.extensions import db
from app.training.models import Course
from tests.conftest import login


def _meeting_ids(app, course_id):
    with app.app_context():
        return [m.id for m in sorted(db.session.get(Course, course_id).meetings, key=lambda m: m.number)]


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_facilitator_home_lists_today_and_next_sessions_with_rosters(app, client, make_user, make_course):
    fac = make_user("facilitator", username="fasil.agenda")
    other = make_user("facilitator", username="fasil.lain")
    today = today_wib()
    running = make_course(facilitator=fac, title="Kuliner Hari Ini")                 # today, +7, +14
    later = make_course(facilitator=fac, title="Kemasan Besok", meetings=1, start=today + timedelta(days=1))
    past = make_course(facilitator=fac, title="Sudah Lewat", meetings=1, start=today - timedelta(days=3))
    foreign = make_course(facilitator=other, title="Punya Orang Lain", meetings=1)   # another facilitator, today
    menteng = make_course(kecamatan="31.71.06", facilitator=make_user("facilitator", kecamatan="31.71.06"),
                          title="Di Menteng", meetings=1)
    today_id, week_id, fortnight_id = _meeting_ids(app, running)
    later_id = _meeting_ids(app, later)[0]

    assert login(client, "fasil.agenda").status_code == 302
    html = client.get("/").get_data(as_text=True)
    today_part = _section(html, "agenda-today")
    next_part = _section(html, "agenda-next")

    assert "Kuliner Hari Ini" in today_part and f'href="/pertemuan/{today_id}"' in today_part
    assert "Kemasan Besok" not in today_part
    # Next: tomorrow's first, then the running course's later meetings, in date order.
    hrefs = re.findall(r'href="/pertemuan/(\d+)"', next_part)
    assert hrefs == [str(later_id), str(week_id), str(fortnight_id)]
    for title in ("Sudah Lewat", "Punya Orang Lain", "Di Menteng"):
        assert title not in html
    assert _meeting_ids(app, past)[0] and _meeting_ids(app, foreign)[0] and _meeting_ids(app, menteng)[0]
    # One tap: the roster link answers.
    assert client.get(f"/pertemuan/{today_id}").status_code == 200


def test_facilitator_home_without_sessions_says_so(client, login_as):
    login_as("facilitator")
    html = client.get("/").get_data(as_text=True)
    assert "Tidak ada sesi Anda hari ini." in html
    assert "Belum ada sesi terjadwal untuk Anda." in html
    assert "/pertemuan/" not in html


def test_staff_home_has_no_agenda(client, login_as, make_course):
    make_course()
    login_as("staff")
    html = client.get("/").get_data(as_text=True)
    assert 'id="agenda-today"' not in html
