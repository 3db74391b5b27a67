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


class _Tables(HTMLParser):
    """Every <table>: its classes, its header cells (text, hidden, holds a control) and the data-label of
    every body cell, row by row."""

    def __init__(self):
        super().__init__()
        self.tables, self._stack, self._th, self._hidden_depth = [], [], None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        t = self._stack[-1] if self._stack else None
        if tag == "table":
            self._stack.append({"classes": (a.get("class") or "").split(), "heads": [], "rows": [], "part": None})
            self.tables.append(self._stack[-1])
        elif t is None:
            return
        elif tag in ("thead", "tbody"):
            t["part"] = tag
        elif tag == "tr" and t["part"] == "tbody":
            t["rows"].append([])
        elif tag == "th" and t["part"] == "thead":
            self._th = {"text": "", "hidden": False, "control": False}
        elif tag == "td" and t["part"] == "tbody":
            t["rows"][-1].append(a.get("data-label"))
        elif self._th is not None:
            if "visually-hidden" in (a.get("class") or ""):
                self._th["hidden"] = True
            if tag == "input":
                self._th["control"] = True

    def handle_endtag(self, tag):
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag == "th" and self._th is not None:
            self._th["text"] = " ".join(self._th["text"].split())
            self._stack[-1]["heads"].append(self._th)
            self._th = None

    def handle_data(self, data):
        if self._th is not None:
            self._th["text"] += data


def _stack_tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    return [t for t in parser.tables if "stack" in t["classes"] and t["rows"]]


def _check_labels(url: str, html: str) -> int:
    """Each card table's body cells are labelled with their column's header; returns the rows seen."""
    tables = _stack_tables(html)
    assert tables, f"{url}: no list table that becomes cards on a phone"
    rows = 0
    for t in tables:
        expected = [("" if h["hidden"] else "Pilih" if h["control"] else h["text"]) for h in t["heads"]]
        for row in t["rows"]:
            if len(row) == 1 and len(expected) > 1:   # a colspan'd "nothing here" row
                continue
            assert None not in row, f"{url}: a cell without data-label in {row}"
            assert row == expected, f"{url}: labels {row} do not follow the headers {expected}"
            rows += 1
    return rows


def test_list_tables_label_every_cell(app, client, make_user, make_participant, make_course):
    from app.mentoring.services import assign
    from app.participants.models import Participant
    from app.training.services import enroll
    from sqlalchemy import select
    from tests.test_events import make_event
    from app.events.services import sign_up

    make_user("staff", username="meja.tebet")
    make_user("admin", username="admin.dinas")
    pendamping = make_user("pendamping", username="pendamping.tebet")
    ids = [make_participant(name="Siti Aminah"), make_participant(name="Budi Santoso")]
    course_id = make_course()
    event_id = make_event(app)
    with app.app_context():
        people = db.session.scalars(select(Participant).where(Participant.id.in_(ids))).all()
        assign(people, pendamping.id)
        enroll(db.session.get(Course, course_id), people, None)
        db.session.commit()
    with app.app_context():
        for p in db.session.scalars(select(Participant).where(Participant.id.in_(ids))).all():
            try:
                sign_up(event_id, p, None)
            except Exception:  # the step order may refuse in mode berurutan; the list is tested when it has rows
                db.session.rollback()
        db.session.commit()

    pages = {
        "meja.tebet": ["/peserta", "/pelatihan", f"/pelatihan/{course_id}", "/acara", f"/acara/{event_id}", "/pendampingan",
                       "/siap-izin", "/surat-sku"],
        "pendamping.tebet": ["/pendampingan/saya"],
        "admin.dinas": ["/admin/pengguna", "/admin/audit"],
    }
    seen = {}
    for username, urls in pages.items():
        with client.session_transaction() as session:
            session.clear()
        assert login(client, username).status_code == 302
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.get_data(as_text=True)
            if url in ("/siap-izin", "/surat-sku", f"/acara/{event_id}") and not _stack_tables(html):
                continue  # nobody ready or no letter yet: the page shows its empty state
            seen[url] = _check_labels(url, html)
    for must in ("/peserta", "/pendampingan/saya", f"/pelatihan/{course_id}", "/admin/pengguna", "/admin/audit"):
        assert seen.get(must, 0) >= 1, f"{must}: no labelled rows seen"
    assert seen["/peserta"] == 2 and seen["/pendampingan/saya"] == 2


def test_the_label_check_fails_on_an_unlabelled_cell():
    html = ('<table class="stack"><thead><tr><th>Nama</th><th>NIK</th></tr></thead>'
            '<tbody><tr><td data-label="Nama">A</td><td>1</td></tr></tbody></table>')
    try:
        _check_labels("/contoh", html)
    except AssertionError as error:
        assert "without data-label" in str(error)
    else:
        raise AssertionError("an unlabelled cell passed")


def test_date_fields_say_the_date_in_words_without_javascript(app, client, login_as, make_participant):
    """The form field macro writes the current value in words next to every date input (and names it in
    aria-describedby); the audit log's own date filters do the same."""
    login_as("staff")
    participant_id = make_participant(nik="3174014712930001", birth_date=None)
    html = client.get(f"/peserta/{participant_id}/ubah").get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-describedby="birth_date-words[^"]*"[^>]*type="date"|'
                     r'<input[^>]*type="date"[^>]*aria-describedby="birth_date-words', html)
    words = re.search(r'<p class="date-words" id="birth_date-words" data-date-words-for="birth_date"[^>]*>([^<]*)</p>', html)
    assert words and words.group(1) == "7 Desember 1993", words and words.group(1)
    # An empty or unreadable filter gives no words; a readable one gives them.
    html = client.get("/peserta?dari=2026-08-17&sampai=bukan-tanggal").get_data(as_text=True)
    assert re.search(r'id="dari-words"[^>]*>17 Agustus 2026<', html)
    assert re.search(r'id="sampai-words"[^>]*><', html)


def test_audit_date_filters_in_words(client, login_as):
    login_as("admin")
    html = client.get("/admin/audit?dari=1993-12-07").get_data(as_text=True)
    assert re.search(r'id="dari-words"[^>]*>7 Desember 1993<', html)


def test_menu_button_is_hidden_until_the_script_shows_it(client, login_as):
    """Without JavaScript the button stays hidden and the menu open; the script (a file) folds it."""
    login_as("staff")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<button type="button" class="menu-toggle" aria-expanded="false" aria-controls="menu-panel" hidden>Menu</button>', html)
    assert 'id="menu-panel"' in html and '<nav class="mainnav"' in html
    assert '/static/js/menu.js' in html and '/static/js/date-words.js' in html
