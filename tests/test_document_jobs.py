"""Every batch document goes the same way when it is long (app/jobs/documents.py): the GET shows its
size and a button, the POST makes a job, a real worker (tests/worker.py) prints it, the progress page
offers the file, which opens with the right pages and is 404 to a user of another kecamatan; a batch
that became empty says there is nothing to print; the queue down is said. SKU letters number their
pages across the parts a batch is rendered in."""
import io
import re

from pypdf import PdfReader
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from tests.conftest import csrf_from, login, post_form
from tests.test_events import make_event, people
from tests.test_steps import set_mode
from tests.worker import job_state, wait_for_job

ONCE_RE = re.compile(r'name="_once" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
QUEUE_DOWN = "Antrean pekerjaan sedang tidak berjalan"


def start_job(client, url: str, size: str | None) -> str:
    """Open a long document (a page with its size and a button), press the button: the job's URL."""
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html", page.status_code
    assert size is None or f'id="document-size">{size}</strong>' in html, html
    assert "Buat berkas" in html, html
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "_once": ONCE_RE.search(html).group(1)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert re.fullmatch(r"/pekerjaan/\d+", response.headers["Location"])
    return response.headers["Location"]


def downloaded(client, html: str, mime: str = "application/pdf"):
    """(the download's address, the file: a PdfReader, or the bytes of another type)."""
    link = re.search(r'id="job-download" href="([^"]+)"', html).group(1)
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == mime
    return link, PdfReader(io.BytesIO(response.get_data())) if mime == "application/pdf" else response.get_data()


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def assert_404_to_another_kecamatan(app, make_user, job_url: str, link: str) -> None:
    outsider = make_user("staff", kecamatan="31.71.06")
    other = app.test_client()
    assert login(other, outsider.username).status_code == 302
    assert other.get(job_url).status_code == 404
    assert other.get(link).status_code == 404


def ready_for_letters(app, make_participant, count: int) -> list[int]:
    """``count`` trained participants of Tebet (mode bebas), and Tebet's letterhead: ready for an SKU letter."""
    from app.settings.services import save_letterhead
    from tests.conftest import kecamatan_by_code
    from tests.test_steps import give_steps

    set_mode(app, "bebas")
    ids = [make_participant(name=f"Calon Izin {i}") for i in range(count)]
    for participant_id in ids:
        give_steps(app, participant_id, 2)
    with app.app_context():
        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet", "camat_name": "Camat"})
        db.session.commit()
    return ids


def test_a_long_card_sheet_is_printed_by_the_worker(app, client, login_as, make_participant, make_user, worker,
                                                    monkeypatch):
    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 1)  # 9 cards: two A4 sheets of 8
    for i in range(9):
        make_participant(name=f"Pemegang Kartu {i}")
    staff = login_as("staff")
    job_url = start_job(client, "/peserta/kartu.pdf", "2 halaman")
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and "9 dari 9 kartu" in html
    link, reader = downloaded(client, html)
    text = text_of(reader)
    assert len(reader.pages) == 2 and all(f"Pemegang Kartu {i}" in text for i in range(9))
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "document.cards")).all()
        assert [e.user_id for e in entries] == [staff.id]
    assert_404_to_another_kecamatan(app, make_user, job_url, link)


def test_a_card_sheet_holds_everyone_of_the_day_however_many(app, client, login_as, monkeypatch):
    """No cut-off: a day of 520 new participants is a sheet of 520 cards (65 pages, the worker's),
    not the first 500 of them."""
    from sqlalchemy import update

    from app.core.timeutil import utcnow
    from app.participants.models import Participant
    from tests.test_reports import Person, insert_people, kelurahan_of

    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 10)
    with app.app_context():
        kel, kec = kelurahan_of(kecamatan_code="31.74.01")[0]
        ids = insert_people([Person(kel, kec, name=f"Kartu {i:03d}") for i in range(520)])
        db.session.execute(update(Participant).where(Participant.id.in_(ids)).values(verified_at=utcnow()))
        db.session.commit()
    login_as("staff")
    html = client.get("/peserta/kartu.pdf").get_data(as_text=True)
    assert 'id="document-size">65 halaman</strong>' in html and "Buat berkas" in html


def test_a_long_batch_of_sku_letters_is_printed_by_the_worker_numbered_across_the_batch(
        app, client, login_as, make_participant, make_user, worker, monkeypatch):
    from app.licensing.models import SkuLetter

    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 2)
    login_as("staff")
    ids = ready_for_letters(app, make_participant, 3)
    html = client.get("/siap-izin").get_data(as_text=True)
    form = {"participant_id": [str(i) for i in ids], "csrf_token": CSRF_RE.search(html).group(1),
            "_once": ONCE_RE.search(html).group(1)}
    first = client.post("/siap-izin/surat.pdf", data=form)
    again = client.post("/siap-izin/surat.pdf", data=form)  # a double click: the same job
    assert first.status_code == 303 and re.fullmatch(r"/pekerjaan/\d+", first.headers["Location"])
    assert again.headers["Location"] == first.headers["Location"]
    job_url = first.headers["Location"]
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and "3 dari 3 surat" in html
    link, reader = downloaded(client, html)
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) == 3 and all(f"Halaman {n} dari 3" in pages[n - 1] for n in (1, 2, 3))
    assert all(any(f"Calon Izin {i}" in page for page in pages) for i in range(3))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SkuLetter)) == 3
    assert_404_to_another_kecamatan(app, make_user, job_url, link)


def test_letters_rendered_in_parts_keep_their_page_numbers(app, client, login_as, make_participant, monkeypatch):
    """A batch longer than a part (here two letters) counts its pages on across the parts."""
    import app.jobs.documents as documents

    monkeypatch.setattr(documents, "PAGES_PER_PART", 2)
    login_as("staff")
    ids = ready_for_letters(app, make_participant, 5)
    response = post_form(client, "/siap-izin/surat.pdf", {"participant_id": [str(i) for i in ids]})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages]
    assert len(pages) == 5
    assert [re.search(r"Halaman (\d+) dari (\d+)", page).groups() for page in pages] == [
        (str(n), "5") for n in range(1, 6)]


def event_with_signups(app, client, make_participant, count: int) -> int:
    """A Tebet bazaar of five booths with ``count`` sign-ups made by the logged-in desk (mode bebas)."""
    set_mode(app, "bebas")
    event_id = make_event(app, booths=5)
    ids = people(make_participant, count)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]},
              token_url=f"/acara/{event_id}")
    return event_id


def test_long_event_lists_are_printed_by_the_worker(app, client, login_as, make_participant, make_user, worker,
                                                    monkeypatch):
    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 0)  # any list goes to the worker
    login_as("staff")
    event_id = event_with_signups(app, client, make_participant, 3)
    for path, title in (("stan.pdf", "DAFTAR STAN"), ("pendaftar.pdf", "DAFTAR PENDAFTAR")):
        job_url = start_job(client, f"/acara/{event_id}/{path}", "1 halaman")
        html = wait_for_job(client, job_url)
        assert 'data-state="done"' in html and "3 dari 3 baris" in html
        link, reader = downloaded(client, html)
        text = text_of(reader)
        assert len(reader.pages) == 1 and title in text and "Pedagang 02" in text
        assert_404_to_another_kecamatan(app, make_user, job_url, link)


def test_a_list_emptied_before_the_worker_came_says_there_is_nothing_to_print(
        app, client, login_as, make_participant, queue_file, start_worker, monkeypatch):
    """The queue down is said on the page of a booth list's job; when the worker comes, the list has
    emptied (every booth cancelled meanwhile): the job says there is nothing to print."""
    from app.events.models import Signup

    monkeypatch.setitem(app.config, "PDF_JOB_PAGES", 0)
    login_as("staff")
    event_id = event_with_signups(app, client, make_participant, 2)
    job_url = start_job(client, f"/acara/{event_id}/stan.pdf", "1 halaman")
    state, html = job_state(client, job_url)
    assert state == "queued" and QUEUE_DOWN in html
    with app.app_context():
        for signup in db.session.scalars(select(Signup)):
            signup.status = "cancelled"
        db.session.commit()
    start_worker()
    html = wait_for_job(client, job_url)
    assert 'data-state="failed"' in html and QUEUE_DOWN not in html
    assert "belum ada peserta terkonfirmasi yang mendapat stan" in html


def test_weekly_report_files_of_a_kota_or_the_province_are_made_by_the_worker(
        app, client, login_as, make_participant, make_user, queue_file, start_worker, monkeypatch):
    """A kecamatan's file is made in the request; a kota's and the province's by the worker, through the
    progress page (which says when the queue is not running), 404 to those whose scope is smaller."""
    from openpyxl import load_workbook

    from app.regions.models import Kota
    from tests.conftest import kecamatan_by_code

    monkeypatch.setitem(app.config, "REPORT_FILE_JOB_LEVELS", ("kota", "provinsi"))  # production's default
    make_participant(name="Peserta Mingguan")
    login_as("manager")  # the province's
    with app.app_context():
        tebet_id = kecamatan_by_code("31.74.01").id
        kota_id = db.session.scalars(select(Kota.id).where(Kota.code == "31.74")).one()
    at_once = client.get(f"/laporan/mingguan/kecamatan/{tebet_id}.pdf")
    assert at_once.status_code == 200 and at_once.mimetype == "application/pdf"

    province_url = start_job(client, "/laporan/mingguan.xlsx",
                             "rekap Provinsi DKI Jakarta dengan semua wilayah di bawahnya")
    state, html = job_state(client, province_url)
    assert state == "queued" and QUEUE_DOWN in html  # no worker yet
    start_worker()
    html = wait_for_job(client, province_url)
    assert 'data-state="done"' in html and QUEUE_DOWN not in html
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    province_link, content = downloaded(client, html, xlsx)
    book = load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames == ["Ringkasan", "Provinsi", "Kota", "Kecamatan", "Kelurahan"]
    book.close()

    kota_url = start_job(client, f"/laporan/mingguan/kota/{kota_id}.pdf?kertas=F4", None)
    html = wait_for_job(client, kota_url)
    assert 'data-state="done"' in html
    kota_link, reader = downloaded(client, html)
    assert len(reader.pages) == 1 and "Jakarta Selatan" in text_of(reader)
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.weekly_report")).all()
        assert len(entries) == 3  # the kecamatan's file, and each job's once
    for job_url, link in ((province_url, province_link), (kota_url, kota_link)):
        assert_404_to_another_kecamatan(app, make_user, job_url, link)
    kota_manager = make_user("manager", kota="31.74")  # covers the kota, not the province's job
    other = app.test_client()
    assert login(other, kota_manager.username).status_code == 302
    assert other.get(province_url).status_code == 404 and other.get(kota_link).status_code == 404
