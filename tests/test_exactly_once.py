"""Exactly once: a form sent twice (a double-click) or by many at once gives one result.

The one-time form token (``app.core.once``) makes a repeat give the first answer again; the
domain's unique constraints keep the rule when different forms race. The concurrent tests run
the production server with several workers (tests/harness.py) on every test database.
"""
import re
from pathlib import Path

from sqlalchemy import func, select

from app.core.once import FIELD, FormSubmission
from app.extensions import db
from app.participants.models import Participant
from tests.conftest import CSRF_RE
from tests.harness import fire, gunicorn
from tests.test_registration import URL, form_data

ONCE_RE = re.compile(rf'name="{FIELD}" value="([^"]+)"')


def drawn_form(html: str) -> dict:
    """The hidden fields a browser would send back: the CSRF token and the one-time token."""
    return {"csrf_token": CSRF_RE.search(html).group(1), FIELD: ONCE_RE.search(html).group(1)}


def participants(app, nik: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Participant).where(Participant.nik == nik))


def test_the_same_form_sent_twice_gives_the_first_answer(app, client, login_as):
    login_as("staff")
    form = {**form_data(app), **drawn_form(client.get(URL).get_data(as_text=True))}
    first = client.post(URL, data=form)
    again = client.post(URL, data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] and again.headers["X-Once-Replayed"] == "1"
    assert participants(app, form["nik"]) == 1
    assert "317401-2026-00001" in client.get(first.headers["Location"]).get_data(as_text=True)


def test_a_refused_form_claims_nothing_and_can_be_corrected(app, client, login_as):
    login_as("staff")
    form = {**form_data(app, name=""), **drawn_form(client.get(URL).get_data(as_text=True))}
    refused = client.post(URL, data=form)
    assert refused.status_code == 422 and "X-Once-Replayed" not in refused.headers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0
    corrected = client.post(URL, data={**form, "name": "Budi Santoso"})
    assert corrected.status_code == 302 and participants(app, form["nik"]) == 1


def test_a_token_of_another_user_is_not_answered_with_their_page(app, client, login_as, make_user):
    login_as("staff", username="meja.satu")
    form = {**form_data(app), **drawn_form(client.get(URL).get_data(as_text=True))}
    assert client.post(URL, data=form).status_code == 302
    client.post("/keluar", data={"csrf_token": CSRF_RE.search(client.get("/").get_data(as_text=True)).group(1)})
    login_as("staff", username="meja.dua")
    token = CSRF_RE.search(client.get(URL).get_data(as_text=True)).group(1)
    answer = client.post(URL, data={**form, "csrf_token": token})
    assert answer.status_code == 409 and "Location" not in answer.headers
    assert "sudah dikirim" in answer.get_data(as_text=True)


def test_registration_double_click_and_crowd_under_gunicorn(app, database_url, make_user, tmp_path, redis_url):
    make_user("staff", kecamatan="31.74.01", username="meja.tebet")
    with gunicorn(database_url, tmp_path, 3, RATELIMIT_STORAGE_URI=redis_url) as served:
        desk = served.browser.login("meja.tebet")
        # The double-click: one form, sent twice at once.
        form = {**form_data(app), **drawn_form(desk.send("GET", URL).text)}
        double = fire(desk, "POST", URL, form, n=2)
        # Twenty desks' worth of the same form at once.
        form20 = {**form_data(app, nik="3174011708859902", name="Dewi Lestari"), **drawn_form(desk.send("GET", URL).text)}
        crowd = fire(desk, "POST", URL, form20, n=20)
        # Twenty different forms (other tabs) with one NIK: the NIK's unique key decides.
        tabs = [{**form_data(app, nik="3174011708859903", name="Rina Wati"), **drawn_form(desk.send("GET", URL).text)}
                for _ in range(20)]
        racing = fire(desk, "POST", URL, tabs)
        errors = served.server_errors()
    assert errors == []
    assert [a.status for a in double] == [302, 302] and len({a.headers["Location"] for a in double}) == 1
    assert {a.status for a in crowd} == {302} and len({a.headers["Location"] for a in crowd}) == 1
    assert sorted(a.status for a in racing) == [302] + [422] * 19
    # Refused at the field: the NIK seen as taken, or taken by the other desk during the insert.
    assert all(re.search(r"NIK ini (sudah terdaftar|baru saja didaftarkan)", a.text) for a in racing if a.status == 422)
    assert [participants(app, nik) for nik in ("3174011708859901", "3174011708859902", "3174011708859903")] == [1, 1, 1]


TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "templates"
FORM_RE = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S)


def test_every_post_form_carries_its_tokens_one_way():
    """Every form that POSTs (plainly or through htmx) puts its CSRF and one-time tokens in with
    ``form_tokens``, and no template writes either token by hand."""
    missing, by_hand = [], []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "pdf" in path.parts:
            continue
        text = path.read_text()
        name = str(path.relative_to(TEMPLATES))
        for match in FORM_RE.finditer(text):
            attrs = match["attrs"].lower()
            if ('method="post"' in attrs or "hx-post" in attrs) and "form_tokens(" not in match["body"]:
                missing.append(f"{name}: <form{match['attrs'][:60]}>")
        if re.search(r'name="csrf_token"|\.hidden_tag\(\)|once_field\(\)', text):
            by_hand.append(name)
    assert missing == [] and by_hand == []
    # A POST form was found at all (the pattern matches what the templates write).
    assert len(re.findall(r"form_tokens\(", "".join(p.read_text() for p in TEMPLATES.rglob("*.html")))) > 40


def test_a_form_that_stays_on_the_page_runs_again_with_other_content(app, client, login_as):
    """The claim is the token with what the form says: a resend replays, new content runs."""
    login_as("staff")
    drawn = drawn_form(client.get(URL).get_data(as_text=True))
    first = client.post(URL, data={**form_data(app), **drawn})
    other = client.post(URL, data={**form_data(app, nik="3174011708859904", name="Sari Dewi"), **drawn})
    assert first.status_code == other.status_code == 302
    assert "X-Once-Replayed" not in other.headers and other.headers["Location"] != first.headers["Location"]
    assert participants(app, "3174011708859904") == 1


def test_a_live_check_sent_with_its_form_claims_nothing(app, client, login_as):
    login_as("staff")
    drawn = drawn_form(client.get(URL).get_data(as_text=True))
    for _ in range(2):
        answer = client.post("/peserta/cek-nik", data={**form_data(app), **drawn}, headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "X-Once-Replayed" not in answer.headers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0


def test_a_file_answer_sent_twice_is_made_once_and_never_stored_as_text(app, client, login_as, make_participant):
    """A POST that answers with a PDF: the repeat decides nothing again and says the form was sent
    (the file is not kept as the stored answer; PostgreSQL refuses its bytes in a text column)."""
    from app.licensing.models import SkuLetter
    from app.settings.services import save_letterhead
    from tests.conftest import kecamatan_by_code
    from tests.test_steps import give_steps, set_mode

    set_mode(app, "bebas")
    login_as("staff")
    trained = make_participant(name="Sudah Latih")
    give_steps(app, trained, 2)
    with app.app_context():
        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet", "camat_name": "Camat"})
        db.session.commit()
    form = {"participant_id": str(trained), **drawn_form(client.get("/siap-izin").get_data(as_text=True))}
    first = client.post("/siap-izin/surat.pdf", data=form)
    again = client.post("/siap-izin/surat.pdf", data=form)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert again.status_code == 200 and again.mimetype == "text/html"
    assert "sudah dikirim" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SkuLetter)) == 1
        assert db.session.scalar(select(FormSubmission.body)) is None
