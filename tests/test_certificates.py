"""Certificates: issued by a POST after a page that shows what will be issued; a GET only prints.

Issuing is exactly once per course and participant: the course row is locked before the existing
certificates are read, the unique key stands behind it, and the one-time form token answers a
resent form with the first answer. The concurrent tests run the production server with several
workers (tests/harness.py) on every test database.
"""
import re

from sqlalchemy import func, select

from app.extensions import db
from app.training.models import Certificate, Course, Enrollment
from app.participants.models import Participant
from app.training.services import enroll, mark
from tests.conftest import CSRF_RE
from tests.harness import fire, gunicorn
from tests.test_exactly_once import drawn_form
from tests.test_training import enrol_new

NUMBER_RE = re.compile(r"(\d{5})/SERT-PKT/317401/\d{4}")


def confirm_url(course_id: int) -> str:
    return f"/pelatihan/{course_id}/sertifikat/terbitkan"


def graduate(app, enrollment_ids: list[int]) -> None:
    """Mark these enrolments present at every meeting of their course (so they complete it)."""
    from app.auth.models import User

    with app.app_context():
        desk = db.session.scalars(select(User).where(User.role == "staff")).first()
        for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.id.in_(enrollment_ids))):
            for meeting in enrollment.course.meetings:
                mark(meeting, enrollment, "hadir", desk)
        db.session.commit()


def certificates(app, course_id: int | None = None) -> list[tuple[str, int]]:
    """(number, participant id) of the certificates, of one course or all, by number."""
    with app.app_context():
        stmt = select(Certificate.number, Certificate.participant_id).order_by(Certificate.number)
        if course_id is not None:
            stmt = stmt.where(Certificate.course_id == course_id)
        return [tuple(row) for row in db.session.execute(stmt)]


def sequences(rows) -> list[int]:
    return [int(NUMBER_RE.match(number).group(1)) for number, _ in rows]


def participants_of(app, enrollment_ids: list[int]) -> list[int]:
    with app.app_context():
        return [db.session.get(Enrollment, e).participant_id for e in enrollment_ids]


def course_with_graduates(app, make_participant, make_course, enrolled: int, graduates: int) -> tuple:
    """A one-meeting course of ``enrolled`` new participants (Peserta 000…), the first ``graduates``
    of them completed. Needs a staff user (who marks them)."""
    course_id = make_course(meetings=1)
    enrollments = enrol_new(app, make_participant, course_id, enrolled)
    graduate(app, enrollments[:graduates])
    return course_id, enrollments


def second_course(app, make_course, participant_ids: list[int], graduates: int) -> tuple:
    """Another course of the same participants, the first ``graduates`` of them completed."""
    course_id = make_course(meetings=1, title="Kemasan Produk")
    with app.app_context():
        course = db.session.get(Course, course_id)
        added, _ = enroll(course, [db.session.get(Participant, pid) for pid in participant_ids], None)
        db.session.commit()
        enrollments = [e.id for e in added]
    graduate(app, enrollments[:graduates])
    return course_id, enrollments


def test_printing_before_issuing_writes_nothing_and_says_to_issue_first(app, client, login_as, make_course,
                                                                        make_participant):
    login_as("staff")
    course_id, enrollments = course_with_graduates(app, make_participant, make_course, 3, 2)
    batch = client.get(f"/pelatihan/{course_id}/sertifikat.pdf")
    assert batch.status_code == 302 and batch.headers["Location"] == f"/pelatihan/{course_id}"
    one = client.get(f"/pelatihan/peserta/{enrollments[0]}/sertifikat.pdf")
    assert one.status_code == 302 and one.headers["Location"] == f"/pelatihan/{course_id}"
    page = client.get(f"/pelatihan/{course_id}").get_data(as_text=True)
    assert "Belum ada sertifikat yang diterbitkan untuk pelatihan ini. Terbitkan dulu" in page
    assert "Sertifikat untuk Peserta 000 belum diterbitkan." in page
    assert f'href="{confirm_url(course_id)}"' in page and "Terbitkan sertifikat (2)" in page
    assert "Cetak semua sertifikat (PDF)" not in page
    client.get(confirm_url(course_id))
    assert certificates(app) == []


def test_the_confirmation_page_lists_exactly_the_graduates_without_one(app, client, login_as, make_course,
                                                                        make_participant):
    login_as("staff")
    course_id, enrollments = course_with_graduates(app, make_participant, make_course, 5, 4)
    course_page = client.get(f"/pelatihan/{course_id}").get_data(as_text=True)
    single = client.post(f"/pelatihan/peserta/{enrollments[1]}/sertifikat", data=drawn_form(course_page))
    assert single.status_code == 302 and single.headers["Location"] == f"/pelatihan/{course_id}"
    assert "sudah terbit" in client.get(single.headers["Location"]).get_data(as_text=True)
    assert [n for n, _ in certificates(app)] == [n for n, _ in certificates(app, course_id)]
    (first,) = certificates(app, course_id)
    html = client.get(confirm_url(course_id)).get_data(as_text=True)
    listed = re.findall(r"<td[^>]*>(Peserta \d{3})</td><td[^>]*>(317401-\d{4}-\d{5})</td>", html)
    assert [name for name, _ in listed] == ["Peserta 000", "Peserta 002", "Peserta 003"]
    assert "3 peserta lulus belum mempunyai sertifikat" in html and "Terbitkan sertifikat (3)" in html
    assert "Peserta 001" not in html and "Peserta 004" not in html
    issue_form = re.search(r'<form method="post"[^>]*sertifikat/terbitkan.*?</form>', html, re.S).group(0)
    assert 'name="_once"' in issue_form and CSRF_RE.search(issue_form)

    issued = client.post(confirm_url(course_id), data=drawn_form(html))
    assert issued.status_code == 302 and issued.headers["Location"] == f"/pelatihan/{course_id}"
    rows = certificates(app, course_id)
    assert sequences(rows) == [1, 2, 3, 4] and rows[0] == first  # the earlier one keeps its number
    # The batch is numbered in the order of the confirmation page (by name).
    assert [pid for _, pid in rows[1:]] == participants_of(app, [enrollments[0], enrollments[2], enrollments[3]])
    page = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert "3 sertifikat diterbitkan" in page and "Cetak semua sertifikat (PDF)" in page
    assert "Terbitkan sertifikat (" not in page
    assert client.get(f"/pelatihan/{course_id}/sertifikat.pdf").mimetype == "application/pdf"

    done = client.get(confirm_url(course_id)).get_data(as_text=True)
    assert "Tidak ada sertifikat yang menunggu diterbitkan" in done and "Cetak semua sertifikat (PDF)" in done
    assert "Terbitkan sertifikat (" not in done and "sertifikat/terbitkan\"" not in done.split("<main", 1)[-1]


def test_a_repeat_shows_the_first_answers_message_again(app, client, login_as, make_course, make_participant):
    """A double-click whose first answer's message was shown already, or written over by the
    repeat's own session: the page the repeat leads to says again what happened, once."""
    login_as("staff")
    course_id, _ = course_with_graduates(app, make_participant, make_course, 2, 2)
    form = drawn_form(client.get(confirm_url(course_id)).get_data(as_text=True))
    first = client.post(confirm_url(course_id), data=form)
    assert client.get(first.headers["Location"]).get_data(as_text=True).count("2 sertifikat diterbitkan") == 1
    again = client.post(confirm_url(course_id), data=form)
    assert again.headers["X-Once-Replayed"] == "1"
    assert client.get(again.headers["Location"]).get_data(as_text=True).count("2 sertifikat diterbitkan") == 1
    assert "2 sertifikat diterbitkan" not in client.get(again.headers["Location"]).get_data(as_text=True)
    assert sequences(certificates(app)) == [1, 2]


def test_the_same_form_sent_again_issues_nothing_new(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id, _ = course_with_graduates(app, make_participant, make_course, 3, 3)
    form = drawn_form(client.get(confirm_url(course_id)).get_data(as_text=True))
    first = client.post(confirm_url(course_id), data=form)
    again = client.post(confirm_url(course_id), data=form)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] and again.headers["X-Once-Replayed"] == "1"
    assert sequences(certificates(app)) == [1, 2, 3]
    # A form of another tab, drawn before the first was sent: the same outcome, nothing new.
    other_tab = client.post(confirm_url(course_id), data={"csrf_token": form["csrf_token"]})
    assert other_tab.status_code == 302 and other_tab.headers["Location"] == f"/pelatihan/{course_id}"
    assert "Tidak ada sertifikat baru" in client.get(other_tab.headers["Location"]).get_data(as_text=True)
    assert sequences(certificates(app)) == [1, 2, 3]


def test_one_participant_refused_until_completed(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id, enrollments = course_with_graduates(app, make_participant, make_course, 2, 1)
    page = client.get(f"/pelatihan/{course_id}").get_data(as_text=True)
    assert page.count('aria-label="Terbitkan sertifikat Peserta') == 1  # only the graduate has the button
    refused = client.post(f"/pelatihan/peserta/{enrollments[1]}/sertifikat", data=drawn_form(page))
    assert refused.status_code == 302
    assert "Sertifikat hanya untuk peserta yang lulus" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert certificates(app) == []
    issued = client.post(f"/pelatihan/peserta/{enrollments[0]}/sertifikat", data=drawn_form(page))
    assert issued.status_code == 302
    (row,) = certificates(app)
    page = client.get(f"/pelatihan/{course_id}").get_data(as_text=True)
    assert f"Sertifikat {row[0]} untuk Peserta 000 sudah terbit" in page
    assert f'href="/pelatihan/peserta/{enrollments[0]}/sertifikat.pdf"' in page
    assert client.get(f"/pelatihan/peserta/{enrollments[0]}/sertifikat.pdf").mimetype == "application/pdf"


def test_issuing_roles_and_scope(app, client, login_as, make_user, make_course, make_participant):
    make_user("staff", username="meja.tebet")
    course_id, enrollments = course_with_graduates(app, make_participant, make_course, 2, 2)
    manager = login_as("manager", kecamatan=None)
    assert manager.role == "manager"
    page = client.get(f"/pelatihan/{course_id}").get_data(as_text=True)
    assert "Terbitkan" not in page and "sertifikat.pdf" not in page
    token = CSRF_RE.search(page).group(1)
    assert client.get(confirm_url(course_id)).status_code == 403
    assert client.post(confirm_url(course_id), data={"csrf_token": token}).status_code == 403
    assert client.post(f"/pelatihan/peserta/{enrollments[0]}/sertifikat", data={"csrf_token": token}).status_code == 403
    other = app.test_client()
    from tests.conftest import login

    make_user("staff", kecamatan="31.71.06", username="staf.lain")
    assert login(other, "staf.lain").status_code == 302
    token = CSRF_RE.search(other.get("/").get_data(as_text=True)).group(1)
    assert other.get(confirm_url(course_id)).status_code == 404
    assert other.post(confirm_url(course_id), data={"csrf_token": token}).status_code == 404
    assert other.post(f"/pelatihan/peserta/{enrollments[0]}/sertifikat", data={"csrf_token": token}).status_code == 404
    assert client.post(confirm_url(course_id)).status_code in (400, 403)  # no CSRF token
    assert certificates(app) == []


def test_issuing_by_post_under_gunicorn_double_click_and_crowd(app, database_url, make_user, make_course,
                                                               make_participant, tmp_path, redis_url):
    make_user("staff", username="meja.tebet")
    double_id, double_enrolments = course_with_graduates(app, make_participant, make_course, 6, 3)
    crowd_id, crowd_enrolments = second_course(app, make_course, participants_of(app, double_enrolments), 5)
    with gunicorn(database_url, tmp_path, 3, RATELIMIT_STORAGE_URI=redis_url) as served:
        desk = served.browser.login("meja.tebet")
        # The double-click: one form sent twice at once.
        form = drawn_form(desk.send("GET", confirm_url(double_id)).text)
        double = fire(desk, "POST", confirm_url(double_id), form, n=2)
        # Twenty tabs' worth of the confirmation page, each with its own one-time token, sent at once:
        # the course lock decides, not the token.
        forms = [drawn_form(desk.send("GET", confirm_url(crowd_id)).text) for _ in range(20)]
        crowd = fire(desk, "POST", confirm_url(crowd_id), forms)
        # The same twenty forms once more: replayed or issuing nothing.
        again = fire(desk, "POST", confirm_url(crowd_id), forms)
        errors = served.server_errors()
    assert errors == []
    for answers, course_id in ((double, double_id), (crowd, crowd_id), (again, crowd_id)):
        assert {a.status for a in answers} == {302}, [(a.status, a.text[:200]) for a in answers]
        assert {a.headers["Location"] for a in answers} == {f"/pelatihan/{course_id}"}
    first = certificates(app, double_id)
    assert sorted(pid for _, pid in first) == sorted(participants_of(app, double_enrolments[:3]))
    second = certificates(app, crowd_id)
    assert sorted(pid for _, pid in second) == sorted(participants_of(app, crowd_enrolments[:5]))
    assert sequences(first) == [1, 2, 3] and sequences(second) == [4, 5, 6, 7, 8]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 8
        assert db.session.get(Course, crowd_id) is not None


def test_a_certificate_whose_completion_was_corrected_away_is_void(app, client, login_as, make_course,
                                                                   make_participant):
    """Attendance corrected below the course's rule after the certificate was issued: the
    certificate keeps its number but is printed no more, and its public check says it is void."""
    import io

    from pypdf import PdfReader

    login_as("staff")
    course_id, enrollments = course_with_graduates(app, make_participant, make_course, 3, 3)
    form = drawn_form(client.get(confirm_url(course_id)).get_data(as_text=True))
    assert client.post(confirm_url(course_id), data=form).status_code == 302
    with app.app_context():
        from app.auth.models import User

        desk = db.session.scalars(select(User).where(User.role == "staff")).first()
        voided = db.session.get(Enrollment, enrollments[1])
        for meeting in voided.course.meetings:
            mark(meeting, voided, "tidak_hadir", desk)
        db.session.commit()
        certificate = db.session.scalars(select(Certificate).where(
            Certificate.participant_id == voided.participant_id)).one()
        code, number, name = certificate.code, certificate.number, voided.participant.name
        kept = [c.code for c in db.session.scalars(select(Certificate).where(
            Certificate.participant_id != voided.participant_id))]

    batch = client.get(f"/pelatihan/{course_id}/sertifikat.pdf")
    assert batch.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(batch.data)).pages)
    assert len(PdfReader(io.BytesIO(batch.data)).pages) == 2 and name not in text

    one = client.get(f"/pelatihan/peserta/{enrollments[1]}/sertifikat.pdf")
    assert one.status_code == 302
    assert "tidak berlaku lagi" in client.get(one.headers["Location"]).get_data(as_text=True)

    public = app.test_client().get(f"/verifikasi/{code}").get_data(as_text=True)
    assert "Sertifikat tidak berlaku" in public and "Sertifikat sah" not in public and number in public
    assert "Sertifikat sah" in app.test_client().get(f"/verifikasi/{kept[0]}").get_data(as_text=True)

    register = client.get("/sertifikat").get_data(as_text=True)
    row = next(r for r in register.split("<tr>") if number in r)
    assert "tidak berlaku" in row and all("tidak berlaku" not in r for r in register.split("<tr>") if code not in r
                                          and "SERT-PKT" in r)
