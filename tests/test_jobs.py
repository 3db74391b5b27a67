"""Background jobs with a real worker (the huey consumer in a subprocess, tests/worker.py): a large
export and a large import through the progress page to the result, the download's scope, a job that
survives its worker being killed and is applied once, the queue-down message, a failure in
Indonesian, and the periodic work (stale meetings closed, expired files deleted)."""
import csv
import io
import re
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from app.jobs import queue
from app.jobs.models import ImportUpload, Job, JobFilePart
from app.participants.models import Participant
from tests.conftest import csrf_from, login, post_form
from tests.worker import QUEUE_REDIS_URL, job_state, use_queue, wait_for_job

ONCE_RE = re.compile(r'name="_once" value="([^"]+)"')
QUEUE_DOWN = "Antrean pekerjaan sedang tidak berjalan"


def start_export(client, fmt: str = "csv", query: str = "") -> str:
    """Open the export of the list (too large: a page with a button), press the button; the job's URL."""
    url = f"/peserta/ekspor.{fmt}{query}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Buat berkas ekspor" in html, html
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "_once": ONCE_RE.search(html).group(1)})
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert re.fullmatch(r"/pekerjaan/\d+", location)
    return location


def job_id_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_a_large_export_runs_in_the_worker_to_an_audited_download(app, client, login_as, make_participant, worker,
                                                                    monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 3)
    for i in range(5):
        make_participant(name=f"Peserta Tebet {i}")
    make_participant(kecamatan="31.71.06", name="Peserta Menteng")  # another kecamatan: not exported
    user = login_as("staff")
    job_url = start_export(client)

    page = client.get(job_url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and 'id="job-percent">100%' in html and "5 dari 5 baris" in html
    assert "hx-trigger" not in html  # finished: the page stops polling
    link = re.search(r'id="job-download" href="([^"]+)"', html).group(1)

    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 6 and sorted(r[2] for r in rows[1:]) == [f"Peserta Tebet {i}" for i in range(5)]
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.download")).one()
        assert entry.user_id == user.id and entry.entity_id == job_id_of(job_url)
        job = db.session.get(Job, job_id_of(job_url))
        assert job.state == "done" and job.attempts == 1 and job.file_size == len(download.get_data())
        assert job.expires_at - job.finished_at == timedelta(days=1)


def test_a_large_import_runs_in_the_worker_and_shows_its_result(app, client, login_as, worker, monkeypatch):
    from tests.test_import import BAD, GOOD, csv_bytes, run_to_preview

    monkeypatch.setitem(app.config, "IMPORT_JOB_ROWS", 2)
    login_as("staff")
    map_url, mapping, preview = run_to_preview(client, "ekspor.csv", csv_bytes(GOOD + BAD))
    assert 'id="import-background"' in preview.get_data(as_text=True)
    response = post_form(client, map_url + "/simpan", mapping, token_url=map_url)
    assert response.status_code == 302
    job_url = response.headers["Location"]
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and re.search(r'id="created-count">2<', html)
    assert "Kelurahan kosong atau tidak dikenal." in html  # a skipped row and its reason
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 2
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0  # used up with the import
    assert client.get(map_url).status_code == 404


def _finished_export(app, user) -> int:
    """A finished export job of ``user`` with its file, written by the service the worker uses."""
    from app.auth.models import User
    from app.jobs.services import claim, create_job, finish

    with app.app_context():
        owner = db.session.get(User, user.id)
        job = create_job("participants.export", "Ekspor uji", owner, {"fmt": "csv", "args": {}}, total=1)
        db.session.commit()
        finish(claim(job.id), file=("peserta.csv", "text/csv", io.BytesIO(b"NIK\n3174011708859901\n")))
        db.session.commit()
        return job.id


@pytest.mark.parametrize("other", [
    {"role": "staff", "kecamatan": "31.71.06"},   # another kecamatan
    {"role": "manager", "kota": "31.74"},         # covers the region, but sees masked data only
    {"role": "staff", "kecamatan": "31.74.02"},   # the kota's next kecamatan
])
def test_a_jobs_page_and_file_are_404_to_users_it_is_not_for(app, client, make_user, other):
    owner = make_user("staff", kecamatan="31.74.01")
    job_id = _finished_export(app, owner)
    outsider = make_user(**other)
    assert login(client, outsider.username).status_code == 302
    assert client.get(f"/pekerjaan/{job_id}").status_code == 404
    assert client.get(f"/pekerjaan/{job_id}/unduh").status_code == 404
    colleague = make_user("staff", kecamatan="31.74.01")  # same desk, same role: the scope covers it
    other_client = app.test_client()
    assert login(other_client, colleague.username).status_code == 302
    assert other_client.get(f"/pekerjaan/{job_id}/unduh").get_data() == b"NIK\n3174011708859901\n"


def test_the_queue_down_is_said_and_the_job_runs_when_it_is_back(app, client, login_as, make_participant,
                                                                  queue_file, start_worker, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 1)
    make_participant()
    make_participant()
    login_as("staff")
    job_url = start_export(client, "xlsx")  # no worker yet
    state, html = job_state(client, job_url)
    assert state == "queued" and QUEUE_DOWN in html and 'hx-trigger="every 1s"' in html
    assert QUEUE_DOWN in client.get(job_url).get_data(as_text=True)  # the whole page too

    start_worker()
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and QUEUE_DOWN not in html
    download = client.get(re.search(r'id="job-download" href="([^"]+)"', html).group(1))
    assert download.status_code == 200 and download.get_data()[:2] == b"PK"  # an XLSX (zip)


def test_a_failed_job_says_why_in_indonesian(app, client, login_as, queue_file, start_worker, monkeypatch):
    from tests.test_import import GOOD, csv_bytes, run_to_preview

    monkeypatch.setitem(app.config, "IMPORT_JOB_ROWS", 1)
    login_as("staff")
    map_url, mapping, _ = run_to_preview(client, "ekspor.csv", csv_bytes(GOOD))
    job_url = post_form(client, map_url + "/simpan", mapping, token_url=map_url).headers["Location"]
    with app.app_context():  # the upload is gone before the worker gets to it (a day passed)
        db.session.query(ImportUpload).delete()
        db.session.commit()
    start_worker()
    html = wait_for_job(client, job_url)
    assert 'data-state="failed"' in html
    assert "Berkas impor ini sudah tidak tersedia" in html and "unggah berkasnya lagi" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0


def test_a_job_survives_its_worker_killed_and_is_applied_once(app, client, login_as, start_worker, monkeypatch):
    """The worker is killed (SIGKILL) in the middle of an import's transaction: nothing was kept; the
    job is queued again, a new worker imports every row once; delivering it again changes nothing."""
    from app.jobs.services import enqueue, recover_stalled, run_job
    from tests.test_import import csv_bytes, run_to_preview

    rows = [f"317401{1 + i // 9999:02d}0885{i % 9999 + 1:04d},Peserta {i},,,,Manggarai,,," for i in range(6000)]
    login_as("staff")
    map_url, mapping, _ = run_to_preview(client, "besar.csv", csv_bytes(rows))
    first = start_worker()
    job_url = post_form(client, map_url + "/simpan", mapping, token_url=map_url).headers["Location"]
    job_id = job_id_of(job_url)
    while True:  # until the first thousand rows are inserted (in the import's open transaction)
        told = queue.get_progress(job_id)
        state, html = job_state(client, job_url)
        assert state in ("queued", "running"), html
        if told is not None and told[0] >= 1000:
            break
    first.kill()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0
        assert db.session.get(Job, job_id).state == "running"

    monkeypatch.setitem(app.config, "JOB_STALL_SECONDS", 0)
    with app.app_context():
        assert recover_stalled() == [job_id]  # what the periodic housekeeping does
    start_worker()
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and re.search(r'id="created-count">6\.000<', html)
    with app.app_context():
        assert db.session.get(Job, job_id).attempts == 2
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 6000
        run_job(job_id)  # delivered once more (a retry after all)
        assert enqueue(job_id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 6000
        assert db.session.get(Job, job_id).attempts == 2


def test_stale_meetings_are_closed_and_expired_files_deleted_by_the_periodic_work(
        app, make_user, make_participant, make_course, worker):
    from app.core.timeutil import today_wib, utcnow
    from app.jobs.tasks import housekeeping
    from app.training.jobs import close_stale_meetings_task
    from app.training.models import ABSENT, PRESENT, Attendance, Course, Meeting
    from app.training.services import enroll, mark

    facilitator = make_user("facilitator")
    course_id = make_course(facilitator=facilitator, start=today_wib() - timedelta(days=2))
    ids = [make_participant(name=f"Peserta {i}") for i in range(3)]
    from tests.test_steps import give_steps

    for participant_id in ids:
        give_steps(app, participant_id)  # registered a month ago, before the meeting
    old_job = _finished_export(app, make_user("staff"))
    with app.app_context():
        course = db.session.get(Course, course_id)
        enrollments, _ = enroll(course, [db.session.get(Participant, i) for i in ids], None)
        first, later = course.meetings[0], course.meetings[1]
        mark(first, enrollments[0], PRESENT, facilitator)
        db.session.get(Job, old_job).expires_at = utcnow() - timedelta(minutes=1)
        db.session.add(ImportUpload(token="u" * 24, user_id=facilitator.id, kecamatan_id=course.kecamatan_id,
                                    filename="lama.csv", content="{}", created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        first_id, later_id = first.id, later.id
        enrollment_ids = [e.id for e in enrollments]

    close_stale_meetings_task()  # what the consumer's scheduler enqueues every ten minutes
    housekeeping()               # and every minute
    import time

    deadline = time.monotonic() + 120
    while True:
        with app.app_context():
            closed = db.session.get(Meeting, first_id).closed_at is not None
            jobs_left = db.session.scalar(select(func.count()).select_from(Job))
            if closed and jobs_left == 0:
                break
        assert time.monotonic() < deadline, "the periodic work did not run"
        time.sleep(0.2)
    with app.app_context():
        marks = {a.enrollment_id: a for a in db.session.scalars(select(Attendance).where(Attendance.meeting_id == first_id))}
        assert marks[enrollment_ids[0]].status == PRESENT and not marks[enrollment_ids[0]].automatic
        assert [marks[e].status for e in enrollment_ids[1:]] == [ABSENT, ABSENT]
        assert all(marks[e].automatic and marks[e].marked_by_id == facilitator.id for e in enrollment_ids[1:])
        assert db.session.get(Meeting, first_id).closed_by_id == facilitator.id
        assert db.session.get(Meeting, later_id).closed_at is None  # next week's meeting: not yet
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "meeting.close")).one()
        assert entry.user_id == facilitator.id
        assert db.session.scalar(select(func.count()).select_from(JobFilePart)) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0


@pytest.fixture
def redis_queue(app):
    """The queue on the tests' own Redis database 12, emptied before and after."""
    client = Redis.from_url(QUEUE_REDIS_URL)
    try:
        client.ping()
    except Exception:
        pytest.skip("no Redis at " + QUEUE_REDIS_URL)
    client.flushdb()
    use_queue(app, QUEUE_REDIS_URL)
    yield QUEUE_REDIS_URL
    use_queue(app, "memory://")
    client.flushdb()
    client.close()


def test_the_queue_on_redis(app, client, database_url, login_as, make_participant, redis_queue, tmp_path, monkeypatch):
    from tests.worker import Worker

    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 1)
    make_participant()
    make_participant()
    login_as("staff")
    worker = Worker(app, database_url, redis_queue, tmp_path / "worker.log").start()
    try:
        job_url = start_export(client)
        html = wait_for_job(client, job_url)
        assert 'data-state="done"' in html
    finally:
        worker.stop()


def test_a_large_certificate_batch_is_printed_by_the_worker_and_audited_once(app, client, login_as, make_participant,
                                                                            make_course, worker, monkeypatch):
    from pypdf import PdfReader

    from app.training.models import Course
    from app.training.services import issue_for_graduates
    from tests.test_certificates import course_with_graduates

    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 2)
    staff = login_as("staff")
    course_id, _ = course_with_graduates(app, make_participant, make_course, 4, 3)
    url = f"/pelatihan/{course_id}/sertifikat.pdf"
    assert client.get(url).status_code == 302  # nothing issued yet: nothing to print, says the course page
    assert client.post(url, data={"csrf_token": csrf_from(client, "/")}).headers["Location"] == url
    with app.app_context():
        issue_for_graduates(db.session.get(Course, course_id), staff)
        db.session.commit()

    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="document-size">3 halaman<' in html and "Buat berkas" in html
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "_once": ONCE_RE.search(html).group(1)})
    assert response.status_code == 303
    job_url = response.headers["Location"]
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and "3 dari 3 halaman" in html
    download = client.get(re.search(r'id="job-download" href="([^"]+)"', html).group(1))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(download.get_data()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 3 and all(f"Peserta 00{i}" in text for i in range(3)) and "Peserta 003" not in text
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "document.certificates")).all()
        assert [(e.user_id, e.entity_id) for e in entries] == [(staff.id, course_id)]


@pytest.mark.parametrize("sort", ["baru", "lama", "nama", "nomor"])
def test_an_export_read_in_chunks_keeps_the_lists_order_and_every_row(app, client, login_as, make_participant,
                                                                      monkeypatch, sort):
    """Chunks of two rows (keyset after the last key and id; offset for the registration number), with
    ties in the sort key: each participant once, in the order the list shows."""
    import app.participants.views_export as views_export
    from app.core.timeutil import utcnow

    monkeypatch.setattr(views_export, "CHUNK", 2)
    same = utcnow().replace(microsecond=0) - timedelta(days=3)
    ids = [make_participant(name=name) for name in ("Budi", "Ani", "Budi", "Citra", "Ani")]
    with app.app_context():
        for n, participant_id in enumerate(ids):
            db.session.get(Participant, participant_id).registered_at = same - timedelta(days=n % 2)
        db.session.commit()
        orders = {"baru": lambda p: (-p.registered_at.timestamp(), -p.id), "lama": lambda p: (p.registered_at, p.id),
                  "nama": lambda p: (p.name_key, p.id), "nomor": lambda p: (p.reg_number, p.id)}
        expected = [p.reg_number for p in sorted(db.session.scalars(select(Participant)), key=orders[sort])]
    login_as("staff")
    text = client.get(f"/peserta/ekspor.csv?urut={sort}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert [r[0] for r in rows] == expected


def test_a_background_export_masks_personal_data_as_the_screens_do(app, client, login_as, make_participant, worker,
                                                                   monkeypatch):
    from app.core.formatting import mask_nik, mask_phone

    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 1)
    participant_id = make_participant()
    make_participant()
    with app.app_context():
        participant = db.session.get(Participant, participant_id)
        nik, phone = participant.nik, participant.phone
    login_as("manager")  # the province's manager: NIK and phone masked
    html = wait_for_job(client, start_export(client))
    text = client.get(re.search(r'id="job-download" href="([^"]+)"', html).group(1)).get_data(as_text=True)
    assert nik not in text and phone not in text
    assert mask_nik(nik) in text and mask_phone(phone) in text
