"""No lock held while a document renders: a registration at another desk completes in its normal
time while a long PDF is being built (production server, several workers, both databases).

Measured as a ratio to the same registration on the idle server, and by order: the registration
must be answered while the PDF is still rendering (a held lock would make it wait for the end).
"""
import statistics
import threading
import time

from app.core.timeutil import today_wib
from app.extensions import db
from app.participants.models import Participant
from app.participants.services import record_step
from app.settings.services import save_letterhead
from tests.conftest import kecamatan_by_code
from tests.harness import gunicorn
from tests.test_exactly_once import drawn_form
from tests.test_registration import URL, form_data
from tests.test_steps import set_mode


def register(app, desk, nik: str) -> float:
    form = {**form_data(app, nik=nik, name=f"Warga {nik[-4:]}"), **drawn_form(desk.send("GET", URL).text)}
    started = time.monotonic()
    answer = desk.send("POST", URL, form)
    took = time.monotonic() - started
    assert answer.status == 302, answer.text[:500]
    return took


def during_document(app, desk, printer, method: str, path: str, form: dict | None, nik: str) -> tuple[float, bool]:
    """Register while ``printer`` is building a document; (time taken, answered before the document)."""
    done = {}

    def build():
        answer = printer.send(method, path, form, timeout=120)
        done["at"], done["answer"] = time.monotonic(), answer

    worker = threading.Thread(target=build)
    worker.start()
    time.sleep(0.5)  # the document is rendering now
    took = register(app, desk, nik)
    registered_at = time.monotonic()
    worker.join()
    answer = done["answer"]
    assert answer.status == 200 and answer.headers.get("Content-Type") == "application/pdf", answer.text[:500]
    return took, registered_at < done["at"]


def test_a_registration_is_not_held_up_by_a_long_pdf(app, database_url, make_user, make_participant, tmp_path,
                                                     redis_url):
    make_user("staff", username="meja.cetak")
    make_user("staff", username="meja.daftar")
    pids = [make_participant(nik=f"3174011708{86 + i // 9000:02d}{1000 + i:04d}", name=f"Pedagang {i:03d}")
            for i in range(240)]
    set_mode(app, "bebas")
    with app.app_context():
        for pid in pids[:60]:
            record_step(db.session.get(Participant, pid), 2, today_wib(), "test")
        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet",
                                                       "camat_name": "Drs. Camat Tebet", "camat_nip": ""})
        db.session.commit()
    with gunicorn(database_url, tmp_path, 3, RATELIMIT_STORAGE_URI=redis_url) as served:
        printer = served.new_browser().login("meja.cetak")
        desk = served.browser.login("meja.daftar")
        idle = statistics.median(register(app, desk, f"317401170885{9800 + i}") for i in range(3))
        # A GET: the sheet of 240 cards (30 pages).
        cards = during_document(app, desk, printer, "GET", "/peserta/kartu.pdf", None, "3174011708859898")
        # A POST that decides 60 letter numbers, then renders the 60 letters.
        letters_form = {"participant_id": [str(pid) for pid in pids[:60]],
                        **drawn_form(printer.send("GET", "/siap-izin").text)}
        letters = during_document(app, desk, printer, "POST", "/siap-izin/surat.pdf", letters_form, "3174011708859899")
        errors = served.server_errors()
    assert errors == []
    for took, before_the_document in (cards, letters):
        assert before_the_document, "the registration waited for the document to finish"
        assert took < 10 * idle, (took, idle)
