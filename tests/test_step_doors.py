"""One step rule at every door (sign-up, enrolment, promotion, recording), step dates never before P1,
check-in by registration number with or without separators or by NIK, and the bulk pages' limits."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, event as sa_event, select

from app.core.timeutil import today_wib
from app.events.models import Signup
from app.events.services import sign_up
from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from app.participants.services import (StepDateError, StepOrderError, check_step_order, checkin_key,
                                       missing_steps_for, normalize_reg_number, record_step)
from app.training.models import Enrollment, Meeting
from tests.conftest import csrf_from, post_form
from tests.test_events import make_event, people
from tests.test_steps import give_steps, set_mode, steps_of

ALL_BEFORE_P5 = "langkah P2 Pelatihan, P3 Pendampingan dan P4 Perizinan belum selesai"


def backdate(app, pid, days=60):
    """Move the participant's registration (P1) back, as for someone registered earlier."""
    with app.app_context():
        record_step(db.session.get(Participant, pid), 1, today_wib() - timedelta(days=days), "test")
        db.session.commit()


# --- The rule itself ----------------------------------------------------------------------------

def test_the_rule_names_every_missing_step(app, make_participant):
    set_mode(app, "berurutan")
    pid = make_participant()
    give_steps(app, pid, 2)
    with app.app_context():
        p = db.session.get(Participant, pid)
        with pytest.raises(StepOrderError) as err:
            check_step_order(p, 5)
        assert err.value.missing == [3, 4]
        assert "langkah P3 Pendampingan dan P4 Perizinan belum selesai" in str(err.value)
        check_step_order(p, 3)  # the next one is fine
        assert missing_steps_for([pid], 7)[pid] == [3, 4, 5, 6]
    set_mode(app, "bebas")
    with app.app_context():
        check_step_order(db.session.get(Participant, pid), 7)
        assert missing_steps_for([pid], 7) == {pid: []}


# --- Event sign-up: every channel ------------------------------------------------------------------

def test_sequential_sign_up_is_refused_at_the_desk_naming_every_missing_step(app, client, login_as, make_participant):
    set_mode(app, "berurutan")
    login_as("staff")
    event_id = make_event(app, booths=5)
    blocked, ready = people(make_participant, 2)
    give_steps(app, ready, 2, 3, 4)
    html = post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(blocked), str(ready)]},
                     token_url=f"/acara/{event_id}", follow_redirects=True).get_data(as_text=True)
    assert f"{ALL_BEFORE_P5} untuk Pedagang 00" in html and "1 terkonfirmasi, 0 masuk daftar tunggu." in html
    with app.app_context():
        assert db.session.scalars(select(Signup.participant_id)).all() == [ready]
    # The participant's page says so instead of offering the sign-up; a forged POST is refused the same way.
    shown = client.get(f"/peserta/{blocked}").get_data(as_text=True)
    assert f"Belum dapat didaftarkan ke acara pemasaran (mode berurutan): {ALL_BEFORE_P5}." in shown
    assert "Daftarkan ke acara" not in shown
    page = post_form(client, f"/peserta/{blocked}/acara", {"event_id": str(event_id)}, token_url=f"/peserta/{blocked}",
                     follow_redirects=True).get_data(as_text=True)
    assert ALL_BEFORE_P5 in page


def test_sequential_public_sign_up_is_refused(app, client, make_participant):
    set_mode(app, "berurutan")
    event_id = make_event(app, booths=5)
    (pid,) = people(make_participant, 1)
    with app.app_context():
        p = db.session.get(Participant, pid)
        number, nik = p.reg_number, p.nik
    url = f"/acara/{event_id}/daftar-mandiri"
    response = post_form(client, url, {"reg_number": number, "nik": nik}, token_url=url)
    assert response.status_code == 422 and ALL_BEFORE_P5 in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Signup)).first() is None


def test_service_refuses_and_allows_once_p5_is_reached(app, make_participant):
    set_mode(app, "berurutan")
    event_id = make_event(app)
    (pid,) = people(make_participant, 1)
    with app.app_context():
        with pytest.raises(StepOrderError, match="langkah P2 Pelatihan, P3 Pendampingan dan P4"):
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.rollback()
    give_steps(app, pid, 5)  # P5 already (an earlier event, recorded in mode bebas): nothing to check
    with app.app_context():
        assert sign_up(event_id, db.session.get(Participant, pid), None).status == "confirmed"


# --- Promotion and the organiser's view --------------------------------------------------------------

def test_promotion_passes_over_a_blocked_waiting_participant_and_the_page_says_why(app, client, login_as,
                                                                                   make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=1)
    first, blocked, ready = people(make_participant, 3)
    give_steps(app, ready, 2, 3, 4)
    for pid in (first, blocked, ready):  # in this order: booth 1, then two waiting
        post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    set_mode(app, "berurutan")
    with app.app_context():
        booth1 = db.session.scalars(select(Signup).where(Signup.participant_id == first)).one().id
    url = f"/acara/daftar/{booth1}/batal"
    html = post_form(client, url, {"reason": "Sakit"}, token_url=url, follow_redirects=True).get_data(as_text=True)
    assert "Pedagang 02 naik dari daftar tunggu ke stan 1." in html
    assert "1 peserta di daftar tunggu tidak dapat naik ke stan karena mode berurutan" in html
    assert f"tidak dapat naik ke stan: {ALL_BEFORE_P5}" in html
    with app.app_context():
        by_person = {s.participant_id: s.status for s in db.session.scalars(select(Signup))}
    assert by_person == {first: "cancelled", blocked: "waiting", ready: "confirmed"}


def test_event_page_lists_sign_ups_that_cannot_be_marked_present(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=10, closes_in=0)
    ids = people(make_participant, 3)
    give_steps(app, ids[2], 2, 3, 4)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]},
              token_url=f"/acara/{event_id}")
    html = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert "tidak dapat ditandai hadir" not in html  # mode bebas: nothing stands in the way
    set_mode(app, "berurutan")
    html = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert "2 peserta terkonfirmasi tidak dapat ditandai hadir" in html
    assert f"Pedagang 00: {ALL_BEFORE_P5}." in html and f"Pedagang 01: {ALL_BEFORE_P5}." in html
    assert "Pedagang 02:" not in html
    assert html.count("Tandai hadir: Pedagang") == 1  # only the one who may be marked gets the button
    roster = client.get(f"/acara/{event_id}/kehadiran").get_data(as_text=True)  # the phone view says it too
    assert roster.count(f"Tidak dapat ditandai hadir: {ALL_BEFORE_P5}.") == 2
    assert roster.count('aria-label="Hadir: Pedagang') == 1


def test_event_page_reasons_cost_no_query_per_row(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    few, many = make_event(app, booths=10), make_event(app, booths=10)
    ids = people(make_participant, 8)
    post_form(client, f"/acara/{few}/daftar", {"participant_id": [str(i) for i in ids[:2]]}, token_url=f"/acara/{few}")
    post_form(client, f"/acara/{many}/daftar", {"participant_id": [str(i) for i in ids]}, token_url=f"/acara/{many}")
    set_mode(app, "berurutan")

    def statements(url):
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa_event.listen(engine, "before_cursor_execute", listener)
        try:
            html = client.get(url).get_data(as_text=True)
        finally:
            sa_event.remove(engine, "before_cursor_execute", listener)
        return len(seen), html

    statements(f"/acara/{few}")  # warm up (session, settings)
    n_few, html_few = statements(f"/acara/{few}")
    n_many, html_many = statements(f"/acara/{many}")
    assert "2 peserta terkonfirmasi tidak dapat ditandai hadir" in html_few
    assert "8 peserta terkonfirmasi tidak dapat ditandai hadir" in html_many
    assert n_many == n_few


# --- Course enrolment ---------------------------------------------------------------------------

def test_enrolment_checks_the_step_rule(app, client, login_as, make_course, make_participant):
    set_mode(app, "berurutan")
    login_as("staff")
    course_id = make_course()
    good = make_participant(nik="3174011708859931", name="Ada Pendaftaran")
    odd = make_participant(nik="3174011708859932", name="Tanpa Pendaftaran")
    with app.app_context():  # an active record without its P1 row (e.g. old data)
        db.session.execute(delete(ParticipantStep).where(ParticipantStep.participant_id == odd))
        db.session.commit()
    bulk = client.get(f"/pelatihan/{course_id}/tambah-massal").get_data(as_text=True)
    assert 'name="participant_id" value="%d"' % good in bulk
    assert 'name="participant_id" value="%d"' % odd not in bulk  # not tickable …
    assert "Belum dapat ditambahkan: langkah P1 Pendaftaran belum selesai." in bulk  # … with the reason
    url = f"/pelatihan/{course_id}"
    html = post_form(client, f"{url}/peserta", {"participant_id": [str(good), str(odd)]}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "1 peserta ditambahkan" in html
    assert "langkah P1 Pendaftaran belum selesai untuk Tanpa Pendaftaran, jadi belum dapat ikut pelatihan" in html
    with app.app_context():
        assert db.session.scalars(select(Enrollment.participant_id)).all() == [good]


# --- Step dates -----------------------------------------------------------------------------------

def test_record_step_refuses_a_date_before_p1(app, make_participant):
    pid = make_participant()
    with app.app_context():
        p = db.session.get(Participant, pid)
        with pytest.raises(StepDateError, match="tidak boleh sebelum tanggal pendaftaran peserta"):
            record_step(p, 4, today_wib() - timedelta(days=1), "test")
        record_step(p, 4, today_wib(), "test")
        db.session.commit()
    assert steps_of(app, pid) == [1, 4]


def _field_error(html: str, field: str) -> str:
    """The error text shown next to the field (the forms macro's ``<p class="error" id="FIELD-error">``)."""
    match = re.search(rf'<p class="error" id="{field}-error">([^<]+)<', html)
    return match.group(1) if match else ""


def test_licence_dated_before_registration_is_refused_next_to_the_date(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/izin"
    day = (today_wib() - timedelta(days=3)).isoformat()
    response = post_form(client, url, {"kind": "nib", "number": "1234567890123", "issued_on": day}, token_url=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tanggal terbit izin tidak boleh sebelum tanggal pendaftaran peserta (P1)" in _field_error(html, "issued_on")
    assert f'value="{day}"' in html  # what was typed is kept
    assert steps_of(app, pid) == [1]
    ok = post_form(client, url, {"kind": "nib", "number": "1234567890123", "issued_on": today_wib().isoformat()},
                   token_url=url)
    assert ok.status_code == 302 and steps_of(app, pid) == [1, 4]


def test_visit_report_and_capital_dated_before_registration_are_refused(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    earlier = (today_wib() - timedelta(days=40)).isoformat()
    url = f"/peserta/{pid}/kunjungan"
    visit = post_form(client, url, {"visit_date": earlier, "topic": "Pengemasan"}, token_url=url)
    assert visit.status_code == 422
    assert "Tanggal kunjungan tidak boleh sebelum tanggal pendaftaran" in _field_error(visit.get_data(as_text=True),
                                                                                      "visit_date")
    url = f"/peserta/{pid}/keuangan"
    last_year = f"{today_wib().year - 1}-06"
    report = post_form(client, url, {"month": last_year, "revenue": "1.000.000", "costs": "500.000",
                                     "employees": "1"}, token_url=url)
    assert report.status_code == 422
    assert "Bulan laporan tidak boleh sebelum bulan pendaftaran peserta (P1)" in _field_error(
        report.get_data(as_text=True), "month")
    this_month = post_form(client, url, {"month": today_wib().strftime("%Y-%m"), "revenue": "1.000.000",
                                         "costs": "500.000", "employees": "1"}, token_url=url)
    assert this_month.status_code == 302
    with app.app_context():  # the month of registration counts from the registration day
        p6 = db.session.scalars(select(ParticipantStep).where(ParticipantStep.participant_id == pid,
                                                              ParticipantStep.step == 6)).one()
        assert p6.completed_on == today_wib()
    url = f"/peserta/{pid}/permodalan"
    capital = post_form(client, url, {"institution": "Bank DKI", "product": "KUR Mikro", "amount": "5.000.000",
                                      "referred_on": earlier}, token_url=url)
    assert capital.status_code == 422
    assert "Tanggal rujukan tidak boleh sebelum tanggal pendaftaran" in _field_error(capital.get_data(as_text=True),
                                                                                    "referred_on")
    assert steps_of(app, pid) == [1, 6]
    backdate(app, pid, 60)  # registered earlier: the same dates are accepted
    assert post_form(client, f"/peserta/{pid}/kunjungan", {"visit_date": earlier, "topic": "Pengemasan"},
                     token_url=f"/peserta/{pid}/kunjungan").status_code == 302


def test_attendance_at_a_meeting_before_registration_is_refused(app, client, login_as, make_course, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    course_id = make_course(start=today_wib() - timedelta(days=7), meetings=2, min_meetings=1)
    pid = make_participant()
    with app.app_context():
        from app.training.models import Course
        from app.training.services import enroll

        (enrollment,) = enroll(db.session.get(Course, course_id), [db.session.get(Participant, pid)], None)[0]
        db.session.commit()
        enrollment_id = enrollment.id
        past, today = db.session.scalars(select(Meeting.id).where(Meeting.course_id == course_id)
                                         .order_by(Meeting.number)).all()
    token = csrf_from(client, f"/pertemuan/{past}")
    refused = client.post(f"/pertemuan/{past}/tandai/{enrollment_id}", data={"status": "hadir", "csrf_token": token},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "Kehadiran di pertemuan 1 tidak boleh sebelum tanggal pendaftaran" in refused.get_data(as_text=True)
    assert client.post(f"/pertemuan/{today}/tandai/{enrollment_id}", data={"status": "hadir", "csrf_token": token},
                       headers={"HX-Request": "true"}).status_code == 200
    assert steps_of(app, pid) == [1, 2]


# --- Check-in: one reader for typed numbers and NIKs --------------------------------------------------

@pytest.mark.parametrize("typed,kind,value", [
    ("317401-2026-00001", "reg_number", "317401-2026-00001"),
    ("317401202600001", "reg_number", "317401-2026-00001"),
    ("317401 2026 00001", "reg_number", "317401-2026-00001"),
    (" 317401.2026.00001 ", "reg_number", "317401-2026-00001"),
    ("3174011708859901", "nik", "3174011708859901"),
    ("3174 0117 0885 9901", "nik", "3174011708859901"),
])
def test_checkin_key_reads_numbers_and_niks(typed, kind, value):
    key = checkin_key(typed)
    assert (key.kind, key.value) == (kind, value)


@pytest.mark.parametrize("typed", ["", "abc", "31740120260000", "3174012026000012345", "٣١٧٤٠١٢٠٢٦٠٠٠٠١", "x" * 500])
def test_checkin_key_refuses_the_rest(typed):
    assert checkin_key(typed) is None and normalize_reg_number(typed) is None


@pytest.mark.parametrize("style", ["plain", "spaces", "nik"])
def test_event_checkin_accepts_number_without_separators_and_nik(app, client, login_as, make_participant, style):
    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=5, closes_in=0)
    (pid,) = people(make_participant, 1)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    with app.app_context():
        p = db.session.get(Participant, pid)
        typed = {"plain": p.reg_number.replace("-", ""), "spaces": p.reg_number.replace("-", " "), "nik": p.nik}[style]
    url = f"/acara/{event_id}/check-in"
    response = post_form(client, url, {"reg_number": typed}, token_url=url)
    assert response.status_code == 200 and "tercatat <strong>Hadir</strong>" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Signup.attended)).one() is True


@pytest.mark.parametrize("style", ["plain", "spaces", "nik"])
def test_training_checkin_accepts_number_without_separators_and_nik(app, client, login_as, make_course,
                                                                     make_participant, style):
    login_as("staff")
    course_id = make_course()
    pid = make_participant()
    with app.app_context():
        p = db.session.get(Participant, pid)
        typed = {"plain": p.reg_number.replace("-", ""), "spaces": p.reg_number.replace("-", " "), "nik": p.nik}[style]
        number = p.reg_number
        meeting = db.session.scalars(select(Meeting.id).where(Meeting.course_id == course_id, Meeting.number == 1)).one()
    url = f"/pertemuan/{meeting}/check-in"
    first = post_form(client, url, {"reg_number": typed}, token_url=url).get_data(as_text=True)
    assert "belum terdaftar di pelatihan ini" in first and f'name="reg_number" value="{number}"' in first
    done = post_form(client, url, {"reg_number": typed, "enrol": "1"}, token_url=url)
    assert done.status_code == 200 and "tercatat <strong>Hadir</strong>" in done.get_data(as_text=True)


# --- Bulk pages -----------------------------------------------------------------------------------

def test_event_bulk_page_starts_unticked_and_marks_the_blocked(app, client, login_as, make_participant):
    set_mode(app, "berurutan")
    login_as("staff")
    event_id = make_event(app, booths=3)
    blocked, ready = people(make_participant, 2)
    give_steps(app, ready, 2, 3, 4)
    html = client.get(f"/acara/{event_id}/tambah-massal").get_data(as_text=True)
    assert 'data-bulk-select data-places="3"' in html and "data-select-all" in html and "Pilih semua" in html
    assert "0 dipilih dari 3 tempat tersisa" in html
    assert " checked" not in html.split("<tbody>")[1]  # nothing ticked at the start
    assert f'value="{ready}"' in html and f'name="participant_id" value="{blocked}"' not in html
    assert f"Belum dapat didaftarkan: {ALL_BEFORE_P5}." in html
    assert 'src="/static/js/bulk-select.js"' in html and "<script>" not in html


def test_event_bulk_over_the_booths_left_is_refused_with_one_message(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=2)
    ids = [str(i) for i in people(make_participant, 5)]
    url = f"/acara/{event_id}/tambah-massal"
    html = post_form(client, f"/acara/{event_id}/daftar", {"participant_id": ids, "batas_stan": "1"}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "Dipilih 5 peserta, sisa stan 2: tidak ada yang didaftarkan. Kurangi pilihan 3 peserta" in html
    assert html.count("flash-error") == 1
    with app.app_context():
        assert db.session.scalars(select(Signup)).first() is None
    # Chosen on purpose: the rest go to the waiting list.
    html = post_form(client, f"/acara/{event_id}/daftar", {"participant_id": ids, "batas_stan": "1",
                                                           "daftar_tunggu": "1"}, token_url=url,
                     follow_redirects=True).get_data(as_text=True)
    assert "2 terkonfirmasi, 3 masuk daftar tunggu." in html


def test_course_bulk_page_starts_unticked_with_the_seats_left(app, client, login_as, make_course, make_participant):
    login_as("staff")
    course_id = make_course(capacity=2)
    for i in range(3):
        make_participant(nik=f"31740117088599{40 + i}", name=f"Massal {i}")
    html = client.get(f"/pelatihan/{course_id}/tambah-massal").get_data(as_text=True)
    assert 'data-bulk-select data-places="2"' in html and "Pilih semua" in html
    assert "0 dipilih dari 2 tempat tersisa" in html
    assert html.count('name="participant_id"') == 3 and " checked" not in html.split("<tbody>")[1]
