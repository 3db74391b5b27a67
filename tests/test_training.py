"""Training: courses, enrolment, roster marks, closing, completion (P2), check-in, documents."""
import io
import re
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.core.timeutil import today_wib
from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from app.training.models import Attendance, Certificate, Course, Enrollment, Meeting
from app.participants.services import record_step
from app.training.services import enroll
from tests.conftest import csrf_from, login, post_form
from tests.test_exactly_once import drawn_form


def enrol_new(app, make_participant, course_id, count, kecamatan="31.74.01"):
    ids = [make_participant(kecamatan=kecamatan, nik=f"{'317401' if kecamatan == '31.74.01' else '317106'}0101{80 + i // 9000:02d}{i % 9000 + 1:04d}",
                            name=f"Peserta {i:03d}") for i in range(count)]
    with app.app_context():
        # Registered two months ago, so that marks at past meetings are not before their P1.
        for p in db.session.scalars(select(Participant).where(Participant.id.in_(ids))):
            record_step(p, 1, today_wib() - timedelta(days=60), "test")
        course = db.session.get(Course, course_id)
        added, _ = enroll(course, db.session.scalars(select(Participant).where(Participant.id.in_(ids))
                                                     .order_by(Participant.id)).all(), None)
        db.session.commit()
        return [e.id for e in added]


def issue_by_post(client, course_id):
    """Issue a course's certificates as a user does: open the confirmation page, send its form."""
    page = client.get(f"/pelatihan/{course_id}/sertifikat/terbitkan")
    assert page.status_code == 200
    return client.post(f"/pelatihan/{course_id}/sertifikat/terbitkan", data=drawn_form(page.get_data(as_text=True)))


def meetings_of(app, course_id):
    with app.app_context():
        return [m.id for m in db.session.get(Course, course_id).meetings]


# --- Courses ---------------------------------------------------------------------------------

def test_staff_creates_a_course_of_three_meetings(app, client, login_as, make_user):
    login_as("staff")
    fac = make_user("facilitator", username="fasil.tebet")
    day = today_wib()
    data = {"title": "Kemasan Produk", "topic": "Label dan kemasan", "facilitator_id": str(fac.id), "min_meetings": ""}
    for i in range(3):
        data.update({f"meetings-{i}-date": (day + timedelta(days=i)).isoformat(), f"meetings-{i}-start_time": "09:00",
                     f"meetings-{i}-end_time": "12:00", f"meetings-{i}-venue": "Aula", f"meetings-{i}-capacity": "100"})
    response = post_form(client, "/pelatihan/baru", data, token_url="/pelatihan/baru")
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalars(select(Course)).one()
        assert [m.number for m in course.meetings] == [1, 2, 3] and course.facilitator_id == fac.id
        assert course.rule_label == "hadir atau terlambat di setiap pertemuan"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kemasan Produk" in page and "0 dari 100 kursi terisi" in page


def test_course_form_errors(app, client, login_as):
    login_as("staff")
    day = today_wib().isoformat()
    data = {"title": "", "meetings-0-date": day, "meetings-0-start_time": "12:00", "meetings-0-end_time": "09:00",
            "meetings-0-venue": "", "meetings-0-capacity": "0"}
    response = post_form(client, "/pelatihan/baru", data, token_url="/pelatihan/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Jam selesai harus setelah jam mulai." in html and "Tempat wajib diisi." in html
    assert "Kapasitas antara 1 dan 1.000." in html and "Wajib diisi." in html
    more = post_form(client, "/pelatihan/baru", {**data, "add_meeting": "1"}, token_url="/pelatihan/baru")
    assert "Pertemuan 2" in more.get_data(as_text=True)
    rule = post_form(client, "/pelatihan/baru", {"title": "X", "min_meetings": "3", "meetings-0-date": day,
                                                 "meetings-0-start_time": "09:00", "meetings-0-end_time": "10:00",
                                                 "meetings-0-venue": "Aula", "meetings-0-capacity": "10"},
                     token_url="/pelatihan/baru")
    assert rule.status_code == 422 and "tidak boleh lebih dari jumlah pertemuan (1)" in rule.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_lists_and_today_page_by_scope(app, client, login_as, make_user, make_course):
    fac = login_as("facilitator")
    other_fac = make_user("facilitator", username="fasil.lain")
    make_course(facilitator=fac, title="Kursus Saya")
    make_course(facilitator=other_fac, title="Kursus Orang Lain")
    make_course(kecamatan="31.71.06", title="Kursus Menteng")
    today = client.get("/pelatihan/hari-ini").get_data(as_text=True)
    assert "Kursus Saya" in today and "Kursus Orang Lain" not in today and "Kursus Menteng" not in today
    listing = client.get("/pelatihan").get_data(as_text=True)
    assert "Kursus Saya" in listing and "Kursus Orang Lain" not in listing
    with app.app_context():
        other = db.session.scalars(select(Course).where(Course.title == "Kursus Orang Lain")).one()
        other_meeting = other.meetings[0].id
    assert client.get(f"/pelatihan/{other.id}").status_code == 404
    assert client.get(f"/pertemuan/{other_meeting}").status_code == 404


def test_staff_sees_all_courses_of_the_kecamatan(client, login_as, make_user, make_course):
    login_as("staff")
    make_course(facilitator=make_user("facilitator"), title="Kursus A")
    make_course(kecamatan="31.71.06", title="Kursus Menteng")
    html = client.get("/pelatihan").get_data(as_text=True)
    assert "Kursus A" in html and "Kursus Menteng" not in html


# --- Enrolment -------------------------------------------------------------------------------

def test_enrol_by_search_and_capacity(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course(capacity=2)
    ids = [make_participant(nik=f"31740117088599{10 + i}", name=n) for i, n in enumerate(["Ani", "Budi", "Citra"])]
    fragment = client.get(f"/pelatihan/{course_id}/cari-peserta?q=budi", headers={"HX-Request": "true"})
    assert "Budi" in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    url = f"/pelatihan/{course_id}"
    response = post_form(client, f"{url}/peserta", {"participant_id": [str(i) for i in ids]}, token_url=url,
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    # Over the seats left: nobody is added, and one message says by how many (not one error per person).
    assert "Dipilih 3 peserta, sisa kursi 2: tidak ada yang ditambahkan. Kurangi pilihan 1 peserta." in html
    assert "ditambahkan ke pelatihan" not in html and html.count("flash-error") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    html = post_form(client, f"{url}/peserta", {"participant_id": [str(i) for i in ids[:2]]}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "2 peserta ditambahkan" in html
    full = post_form(client, f"{url}/peserta", {"participant_id": str(ids[2])}, token_url=url, follow_redirects=True)
    assert "Kelas penuh (2 kursi): Citra tidak ditambahkan." in full.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 2
    again = post_form(client, f"{url}/peserta", {"participant_id": str(ids[0])}, token_url=url, follow_redirects=True)
    assert "Ani sudah terdaftar di pelatihan ini." in again.get_data(as_text=True)


def test_pending_and_foreign_participants_are_not_enrolled(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course()
    pending = make_participant(channel="online", nik="3174015505959905", name="Belum Verifikasi")
    foreign = make_participant(kecamatan="31.71.06", nik="3171061708859901", name="Orang Menteng")
    url = f"/pelatihan/{course_id}"
    html = post_form(client, f"{url}/peserta", {"participant_id": [str(pending), str(foreign)]}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "belum diverifikasi (P1)" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_unenrol_is_audited(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course()
    (enrollment_id,) = enrol_new(app, make_participant, course_id, 1)
    url = f"/pelatihan/{course_id}"
    html = post_form(client, f"/pelatihan/peserta/{enrollment_id}/hapus", {}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "dikeluarkan dari pelatihan" in html
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id) is None
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "enrollment.delete")).one()


def test_walkin_at_the_venue_is_registered_and_enrolled(app, client, login_as, make_course):
    from app.participants.models import Sector

    fac = login_as("facilitator")
    course_id = make_course(facilitator=fac)
    with app.app_context():
        sector = db.session.scalars(select(Sector).where(Sector.code == "jasa")).one().id
    url = f"/pelatihan/{course_id}/daftar-baru"
    response = post_form(client, url, {"nik": "3174015505959905", "name": "Dewi Datang", "phone": "081311112222",
                                       "kelurahan": "31.74.01.1001", "sector_id": str(sector), "stage": "ide"},
                         token_url=url, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Dewi Datang terdaftar (317401-2026-00001) dan ditambahkan" in html
    with app.app_context():
        assert db.session.scalars(select(Enrollment)).one().participant.name == "Dewi Datang"


def test_bulk_enrol_from_filtered_list(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course()
    for i in range(3):
        make_participant(nik=f"31740117088599{20 + i}", name=f"Massal {i}")
    page = client.get(f"/pelatihan/{course_id}/tambah-massal?belum_p2=1").get_data(as_text=True)
    assert page.count('name="participant_id"') == 3
    ids = re.findall(r'name="participant_id" value="(\d+)"', page)
    post_form(client, f"/pelatihan/{course_id}/peserta", {"participant_id": ids}, token_url=f"/pelatihan/{course_id}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 3


# --- Roster and marks ------------------------------------------------------------------------

def test_roster_mark_fragment_and_counts(app, client, login_as, make_course, make_participant):
    fac = login_as("facilitator")
    course_id = make_course(facilitator=fac)
    enrollments = enrol_new(app, make_participant, course_id, 3)
    meeting = meetings_of(app, course_id)[0]
    page = client.get(f"/pertemuan/{meeting}").get_data(as_text=True)
    assert page.index("Peserta 000") < page.index("Peserta 001") < page.index("Peserta 002")
    assert "Belum <strong>3</strong>" in page
    token = csrf_from(client, f"/pertemuan/{meeting}")
    response = client.post(f"/pertemuan/{meeting}/tandai/{enrollments[1]}", data={"status": "terlambat"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert f'id="row-{enrollments[1]}"' in html and 'is-terlambat' in html
    assert 'hx-swap-oob="true"' in html and "Terlambat <strong>1</strong>" in html and "Belum <strong>2</strong>" in html
    reloaded = client.get(f"/pertemuan/{meeting}").get_data(as_text=True)
    assert "Terlambat <strong>1</strong>" in reloaded
    unmarked = client.get(f"/pertemuan/{meeting}?filter=belum").get_data(as_text=True)
    assert "Peserta 001" not in unmarked and "Peserta 000" in unmarked
    found = client.get(f"/pertemuan/{meeting}?q=002", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Peserta 002" in found and "Peserta 000" not in found
    # Without JavaScript the same button posts and redirects back.
    plain = client.post(f"/pertemuan/{meeting}/tandai/{enrollments[0]}", data={"status": "hadir", "csrf_token": token})
    assert plain.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "attendance.mark")) == 2


def test_a_tap_answers_its_row_without_loading_the_class(app, client, login_as, make_course, make_participant):
    """A tap re-reads only the row it changed and the counters (one grouped query), however large
    the class: its number in the name order and the counters equal what the whole roster shows."""
    from sqlalchemy import event

    login_as("staff")
    course_id = make_course(capacity=40)
    enrollments = enrol_new(app, make_participant, course_id, 30)
    meeting = meetings_of(app, course_id)[0]
    token = csrf_from(client, f"/pertemuan/{meeting}")
    loaded = []

    def count_load(target, _context):
        loaded.append(target.id)

    event.listen(Enrollment, "load", count_load)
    try:
        html = client.post(f"/pertemuan/{meeting}/tandai/{enrollments[17]}", data={"status": "hadir"},
                           headers={"HX-Request": "true", "X-CSRFToken": token}).get_data(as_text=True)
    finally:
        event.remove(Enrollment, "load", count_load)
    assert len(set(loaded)) == 1, loaded  # the tapped enrolment only
    page = client.get(f"/pertemuan/{meeting}").get_data(as_text=True)
    row = re.search(rf'id="row-{enrollments[17]}".*?</', html, re.S).group(0)
    number = re.search(r'class="roster-num">(\d+)<', row)
    assert number and re.search(rf'id="row-{enrollments[17]}".*?class="roster-num">{number.group(1)}<', page, re.S)
    for label in ("Hadir <strong>1</strong>", "Belum <strong>29</strong>"):
        assert label in html and label in page


def test_mark_refuses_other_course_and_bad_status(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_a = make_course(title="A")
    course_b = make_course(title="B")
    (enrollment_b,) = enrol_new(app, make_participant, course_b, 1)
    meeting_a = meetings_of(app, course_a)[0]
    token = csrf_from(client, f"/pertemuan/{meeting_a}")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    wrong = client.post(f"/pertemuan/{meeting_a}/tandai/{enrollment_b}", data={"status": "hadir"}, headers=headers)
    assert wrong.status_code == 422 and "tidak terdaftar di pelatihan ini" in wrong.get_data(as_text=True)
    meeting_b = meetings_of(app, course_b)[0]
    bad = client.post(f"/pertemuan/{meeting_b}/tandai/{enrollment_b}", data={"status": "pingsan"}, headers=headers)
    assert bad.status_code == 422 and "Status kehadiran tidak dikenal." in bad.get_data(as_text=True)


def test_future_meeting_only_staff_may_mark(app, client, login_as, make_user, make_course, make_participant):
    fac = make_user("facilitator", username="fasil")
    course_id = make_course(facilitator=fac, start=today_wib() + timedelta(days=3))
    (enrollment,) = enrol_new(app, make_participant, course_id, 1)
    meeting = meetings_of(app, course_id)[0]
    login(client, "fasil")
    token = csrf_from(client, f"/pertemuan/{meeting}")
    refused = client.post(f"/pertemuan/{meeting}/tandai/{enrollment}", data={"status": "hadir"},
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert refused.status_code == 422 and "belum berlangsung" in refused.get_data(as_text=True)
    staff_client = app.test_client()
    staff = make_user("staff")
    login(staff_client, staff.username)
    token = csrf_from(staff_client, f"/pertemuan/{meeting}")
    ok = staff_client.post(f"/pertemuan/{meeting}/tandai/{enrollment}", data={"status": "hadir"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert ok.status_code == 200
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.mark")).one()
        assert "belum berlangsung" in entry.summary and entry.user_id == staff.id


def test_close_marks_absent_and_reopen_reverses(app, client, login_as, make_course, make_participant):
    fac = login_as("facilitator")
    course_id = make_course(facilitator=fac)
    enrollments = enrol_new(app, make_participant, course_id, 3)
    meeting = meetings_of(app, course_id)[0]
    token = csrf_from(client, f"/pertemuan/{meeting}")
    client.post(f"/pertemuan/{meeting}/tandai/{enrollments[0]}", data={"status": "hadir", "csrf_token": token})
    closed = client.post(f"/pertemuan/{meeting}/tutup", data={"csrf_token": token}, follow_redirects=True)
    html = closed.get_data(as_text=True)
    assert "2 peserta yang belum ditandai dicatat Tidak hadir" in html and "otomatis saat ditutup" in html
    assert "Tidak hadir <strong>2</strong>" in html and "sudah ditutup" in html
    refused = client.post(f"/pertemuan/{meeting}/tandai/{enrollments[1]}", data={"status": "hadir"},
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert refused.status_code == 422 and "sudah ditutup" in refused.get_data(as_text=True)
    reopened = client.post(f"/pertemuan/{meeting}/buka", data={"csrf_token": token}, follow_redirects=True)
    assert "2 tanda Tidak hadir otomatis dihapus" in reopened.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_completion_records_p2_and_follows_corrections(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course(start=today_wib() - timedelta(days=14))
    (enrollment,) = enrol_new(app, make_participant, course_id, 1)
    meetings = meetings_of(app, course_id)
    token = csrf_from(client, f"/pertemuan/{meetings[0]}")
    for meeting, status in zip(meetings, ["hadir", "terlambat", "hadir"]):
        client.post(f"/pertemuan/{meeting}/tandai/{enrollment}", data={"status": status, "csrf_token": token})
    with app.app_context():
        e = db.session.get(Enrollment, enrollment)
        last_day = db.session.get(Meeting, meetings[2]).date
        assert e.completed_on == last_day
        step = db.session.scalars(select(ParticipantStep).where(ParticipantStep.step == 2)).one()
        assert (step.completed_on, step.source, step.source_id) == (last_day, "course", course_id)
    client.post(f"/pertemuan/{meetings[1]}/tandai/{enrollment}", data={"status": "izin", "csrf_token": token})
    with app.app_context():
        assert db.session.get(Enrollment, enrollment).completed_on is None
        assert db.session.scalars(select(ParticipantStep).where(ParticipantStep.step == 2)).first() is None
    # The rule "at least 2 of 3" makes it complete again, at the second attended meeting.
    url = f"/pelatihan/{course_id}"
    post_form(client, f"{url}/aturan", {"facilitator_id": "", "min_meetings": "2"}, token_url=url)
    with app.app_context():
        assert db.session.get(Enrollment, enrollment).completed_on == db.session.get(Meeting, meetings[2]).date
        assert db.session.scalars(select(ParticipantStep).where(ParticipantStep.step == 2)).one()


def test_two_facilitators_marking_at_once_lose_nothing(app, make_user, make_course, make_participant):
    fac = make_user("facilitator", username="fasil.a")
    make_user("facilitator", username="fasil.b")
    course_id = make_course(facilitator=fac)
    enrollments = enrol_new(app, make_participant, course_id, 20)
    meeting = meetings_of(app, course_id)[0]
    clients = []
    for name in ("fasil.a", "staff.b"):
        c = app.test_client()
        if name == "staff.b":
            make_user("staff", username=name)
        login(c, name)
        clients.append((c, csrf_from(c, f"/pertemuan/{meeting}")))
    barrier = threading.Barrier(2)

    def mark_half(c, token, part):
        barrier.wait()
        for e in part:
            assert c.post(f"/pertemuan/{meeting}/tandai/{e}", data={"status": "hadir"},
                          headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 200

    threads = [threading.Thread(target=mark_half, args=(c, t, enrollments[i::2])) for i, (c, t) in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.meeting_id == meeting, Attendance.status == "hadir")) == 20


# --- Check-in ------------------------------------------------------------------------------------

def test_checkin_by_typed_number(app, client, login_as, make_course, make_participant):
    fac = login_as("facilitator")
    course_id = make_course(facilitator=fac, capacity=2)
    enrol_new(app, make_participant, course_id, 1)
    outsider = make_participant(nik="3174011708859999", name="Belum Ikut")
    meeting = meetings_of(app, course_id)[0]
    url = f"/pertemuan/{meeting}/check-in"
    answer = client.get(url)
    page = answer.get_data(as_text=True)
    assert "barcode-detector-3.2.2.polyfill.js" in page and "zxing-wasm-3.1.3-reader.wasm" in page
    assert "Nomor pendaftaran" in page
    # Only the scanner's pages may compile WebAssembly; JavaScript eval stays refused everywhere.
    assert "script-src 'self' 'wasm-unsafe-eval';" in answer.headers["Content-Security-Policy"]
    assert "wasm" not in client.get(f"/pertemuan/{meeting}").headers["Content-Security-Policy"]
    assert "unsafe-eval'" not in answer.headers["Content-Security-Policy"].replace("'wasm-unsafe-eval'", "")
    token = csrf_from(client, url)
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    ok = client.post(url, data={"reg_number": "317401-2026-00001"}, headers=headers).get_data(as_text=True)
    assert "Peserta 000" in ok and "tercatat <strong>Hadir</strong>" in ok and "Hadir <strong>1</strong>" in ok
    again = client.post(url, data={"reg_number": "317401-2026-00001"}, headers=headers).get_data(as_text=True)
    assert "Sudah tercatat Hadir sebelumnya." in again
    bad = client.post(url, data={"reg_number": "<script>x</script>"}, headers=headers)
    assert bad.status_code == 422 and "Nomor tidak sah" in bad.get_data(as_text=True) and "<script>x" not in bad.get_data(as_text=True)
    unknown = client.post(url, data={"reg_number": "317401-2026-09999"}, headers=headers)
    assert unknown.status_code == 422 and "tidak ditemukan" in unknown.get_data(as_text=True)
    with app.app_context():
        number = db.session.get(Participant, outsider).reg_number
    offer = client.post(url, data={"reg_number": number}, headers=headers).get_data(as_text=True)
    assert "belum terdaftar di pelatihan ini" in offer and "1 kursi tersisa" in offer
    enrolled = client.post(url, data={"reg_number": number, "enrol": "1"}, headers=headers).get_data(as_text=True)
    assert "Belum Ikut" in enrolled and "tercatat <strong>Hadir</strong>" in enrolled
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 2


# --- Documents ---------------------------------------------------------------------------------

@pytest.mark.parametrize("paper,height", [("A4", 297), ("F4", 330)])
def test_sign_in_sheet_pdf_pages_cleanly(app, client, login_as, make_course, make_participant, paper, height):
    login_as("staff")
    course_id = make_course(capacity=120)
    enrol_new(app, make_participant, course_id, 105)
    meeting = meetings_of(app, course_id)[0]
    response = client.get(f"/pertemuan/{meeting}/daftar-hadir.pdf?kertas={paper}")
    reader = PdfReader(io.BytesIO(response.data))
    assert round(float(reader.pages[0].mediabox.height) * 25.4 / 72) == height
    texts = [p.extract_text() for p in reader.pages]
    assert "DAFTAR HADIR PELATIHAN" in texts[0] and "KANTOR KECAMATAN TEBET" in texts[0]
    assert "Aula Kantor" in texts[0] and all("Tanda tangan" in t for t in texts[1:-1])  # header repeats
    assert len(reader.pages) >= 3
    # Every row number 1..105 appears exactly once, in order, and no row is split between pages.
    seen = []
    for text in texts:
        seen += [int(n) for n in re.findall(r"^(\d{1,3}) Peserta \d{3}", text, re.M)]
    assert seen == list(range(1, 106))


def test_certificates_batch_and_verification(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course(meetings=1, start=today_wib())
    enrollments = enrol_new(app, make_participant, course_id, 100)
    meeting = meetings_of(app, course_id)[0]
    token = csrf_from(client, f"/pertemuan/{meeting}")
    for e in enrollments[:99]:
        client.post(f"/pertemuan/{meeting}/tandai/{e}", data={"status": "hadir"},
                    headers={"HX-Request": "true", "X-CSRFToken": token})
    refused = client.post(f"/pelatihan/peserta/{enrollments[99]}/sertifikat", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Sertifikat hanya untuk peserta yang lulus" in refused.get_data(as_text=True)
    client.post(f"/pertemuan/{meeting}/tandai/{enrollments[99]}", data={"status": "hadir"},
                headers={"HX-Request": "true", "X-CSRFToken": token})
    issued = issue_by_post(client, course_id)
    assert issued.status_code == 302 and issued.headers["Location"] == f"/pelatihan/{course_id}"
    assert "100 sertifikat diterbitkan" in client.get(issued.headers["Location"]).get_data(as_text=True)
    batch = client.get(f"/pelatihan/{course_id}/sertifikat.pdf")
    reader = PdfReader(io.BytesIO(batch.data))
    assert len(reader.pages) == 100
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    text = page.extract_text()
    assert "SERTIFIKAT" in text and "Peserta 000" in text and "Dasar Usaha Kuliner" in text
    with app.app_context():
        certs = db.session.scalars(select(Certificate).order_by(Certificate.number)).all()
        assert len(certs) == 100 and certs[0].number == "00001/SERT-PKT/317401/2026"
        code = certs[0].code
    again = client.get(f"/pelatihan/{course_id}/sertifikat.pdf")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 100  # reprint keeps numbers
    assert again.status_code == 200
    public = app.test_client()
    ok = public.get(f"/verifikasi/{code}")
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Sertifikat sah" in html and "Dasar Usaha Kuliner" in html
    assert "Kecamatan" in html and "Peserta 000" not in html and "P••••••" in html
    for bad in ("TIDAKADA23", "x' OR 1=1 --", "a" * 200):
        response = public.get(f"/verifikasi/{bad}")
        assert response.status_code == 404 and "Kode sertifikat tidak ditemukan." in response.get_data(as_text=True)
    assert "00100/SERT-PKT/317401/2026" in client.get("/sertifikat").get_data(as_text=True)
    assert "00001/SERT-PKT/317401/2026" in client.get("/sertifikat?hal=2").get_data(as_text=True)


def test_participant_page_shows_training_and_certificate(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course(meetings=1)
    (enrollment,) = enrol_new(app, make_participant, course_id, 1)
    with app.app_context():
        participant_id = db.session.get(Enrollment, enrollment).participant_id
        meeting = db.session.get(Course, course_id).meetings[0].id
    html = client.get(f"/peserta/{participant_id}").get_data(as_text=True)
    assert "Pelatihan (P2)" in html and "Dasar Usaha Kuliner" in html and "belum lulus" in html
    token = csrf_from(client, f"/pertemuan/{meeting}")
    client.post(f"/pertemuan/{meeting}/tandai/{enrollment}", data={"status": "hadir", "csrf_token": token})
    html = client.get(f"/peserta/{participant_id}").get_data(as_text=True)
    assert "lulus" in html and "sertifikat belum diterbitkan" in html and "P2 Pelatihan" in html
    not_yet = client.get(f"/pelatihan/peserta/{enrollment}/sertifikat.pdf")
    assert not_yet.status_code == 302 and not_yet.headers["Location"] == f"/pelatihan/{course_id}"
    issued = client.post(f"/pelatihan/peserta/{enrollment}/sertifikat",
                         data={**drawn_form(html), "dari": "peserta"})
    assert issued.status_code == 302 and issued.headers["Location"] == f"/peserta/{participant_id}"
    single = client.get(f"/pelatihan/peserta/{enrollment}/sertifikat.pdf")
    assert single.mimetype == "application/pdf" and len(PdfReader(io.BytesIO(single.data)).pages) == 1
    assert "SERT-PKT" in client.get(f"/peserta/{participant_id}").get_data(as_text=True)
