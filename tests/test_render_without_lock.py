"""No lock held while a document renders: a registration at another desk completes in its normal
time while a long PDF is being built (production server, several workers, both databases).

Measured as a ratio to the same registration on the idle server, and by order: the registration
must be answered while the PDF is still rendering (a held lock would make it wait for the end).
"""
import statistics
import threading
import time

from tests.harness import gunicorn
from tests.test_exactly_once import drawn_form
from tests.test_registration import URL, form_data


def register(app, desk, nik: str) -> float:
    form = {**form_data(app, nik=nik, name=f"Warga {nik[-4:]}"), **drawn_form(desk.send("GET", URL).text)}
    started = time.monotonic()
    answer = desk.send("POST", URL, form)
    took = time.monotonic() - started
    assert answer.status == 302, answer.text[:500]
    return took


def test_a_registration_is_not_held_up_by_a_long_pdf(app, database_url, make_user, make_participant, tmp_path,
                                                     redis_url):
    make_user("staff", username="meja.cetak")
    make_user("staff", username="meja.daftar")
    for i in range(240):
        make_participant(nik=f"3174011708{86 + i // 9000:02d}{1000 + i:04d}", name=f"Pedagang {i:03d}")
    with gunicorn(database_url, tmp_path, 3, RATELIMIT_STORAGE_URI=redis_url) as served:
        printer = served.new_browser().login("meja.cetak")
        desk = served.browser.login("meja.daftar")
        idle = statistics.median(register(app, desk, f"317401170885{9800 + i}") for i in range(3))
        done = {}

        def print_cards():
            answer = printer.send("GET", "/peserta/kartu.pdf", timeout=120)
            done["pdf"] = (time.monotonic(), answer.status, answer.headers.get("Content-Type"))

        worker = threading.Thread(target=print_cards)
        worker.start()
        time.sleep(0.5)  # the sheet of 240 cards (30 pages) is rendering now
        during = register(app, desk, "3174011708859899")
        registered_at = time.monotonic()
        worker.join()
        errors = served.server_errors()
    assert errors == []
    assert done["pdf"][1] == 200 and done["pdf"][2] == "application/pdf"
    assert registered_at < done["pdf"][0], "the registration waited for the PDF to finish"
    assert during < 10 * idle, (during, idle)
