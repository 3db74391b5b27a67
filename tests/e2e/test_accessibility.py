"""Every main page, as the role that uses it, at a desk's and a phone's size: axe-core finds no serious or
critical violation (WCAG 2.0/2.1/2.2 A and AA, and axe's best practices), no page scrolls sideways on the
phone, no request leaves the machine, and the walk-in form works with the keyboard alone.

axe-core is vendored for tests only (tests/e2e/vendor/); it is injected into the page under test and
never served by the app.
"""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.core.timeutil import today_wib
from app.events.services import set_attended, sign_up
from app.extensions import db
from app.licensing.services import camat_signer, request_letter
from app.participants.models import Participant
from app.settings.services import save_letterhead
from app.training.models import Course, Enrollment
from app.training.services import issue_certificates, mark
from tests.conftest import PASSWORD, kecamatan_by_code
from tests.e2e.conftest import browser_login, foreign_requests
from tests.test_events import make_event
from tests.test_steps import give_steps, set_mode
from tests.test_training import enrol_new

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 A/AA, and axe's best practices (landmarks, headings, empty table headers...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}
USERS = {"staff": "desk.tebet", "facilitator": "fasil.tebet", "manager": "dinas.manajer", "admin": "kepala.dinas"}


def seed(app, make_user, make_participant, make_course) -> dict:
    """A small Tebet with something on every page; returns the ids the page URLs need."""
    set_mode(app, "bebas")
    desk = make_user("staff", username=USERS["staff"])
    facilitator = make_user("facilitator", username=USERS["facilitator"])
    make_user("manager", kecamatan=None, username=USERS["manager"])
    make_user("admin", username=USERS["admin"])
    course_id = make_course(facilitator=facilitator, meetings=1, start=today_wib())
    enrolments = enrol_new(app, make_participant, course_id, 4)
    make_participant(channel="online", name="Rina Daring")
    give_steps(app, make_participant(name="Sudah Latih"), 2)
    event_id = make_event(app, booths=2, closes_in=0)  # today, so the roster offers its buttons
    with app.app_context():
        kecamatan = kecamatan_by_code("31.74.01")
        save_letterhead(kecamatan, {"office_name": "Kantor Kecamatan Tebet", "camat_name": "Drs. Camat Tebet"})
        course = db.session.get(Course, course_id)
        meeting = course.meetings[0]
        marker = db.session.get(User, facilitator.id)
        rows = [db.session.get(Enrollment, e) for e in enrolments]
        for enrolment, status in zip(rows, ("hadir", "terlambat", "izin")):  # the fourth stays unmarked
            mark(meeting, enrolment, status, marker)
        (certificate,) = issue_certificates(course, rows[:1], None)
        star = rows[0].participant
        request_letter(star, camat_signer(kecamatan), None)
        signups = [sign_up(event_id, e.participant, None) for e in rows[:3]]  # two booths, one waiting
        db.session.flush()
        set_attended(signups[0], True, db.session.get(User, desk.id).scope())
        db.session.commit()
        return {"course": course_id, "meeting": meeting.id, "event": event_id, "participant": star.id,
                "certificate": certificate.code}


def _submit_empty(button: str):
    def act(page):
        page.get_by_role("button", name=button).click()
        expect(page.locator(".form-alert")).to_be_visible()
    return act


def _type_known_nik(page):
    page.get_by_label("NIK (16 angka)").press_sequentially("3174010101800001", delay=10)  # Peserta 000
    expect(page.get_by_text("NIK ini sudah terdaftar.")).to_be_visible()


def main_pages(ids: dict) -> list[tuple]:
    """(role or None for the public, page name, URL, what to do there first or None) of every main page,
    with the states that matter most (errors in place, the NIK check answering while typing)."""
    return [
        (None, "Masuk", "/masuk", None),
        (None, "Pendaftaran daring (publik)", "/daftar", None),
        (None, "Pendaftaran daring, isian salah", "/daftar", _submit_empty("Kirim pendaftaran")),
        (None, "Verifikasi sertifikat (publik)", f"/verifikasi/{ids['certificate']}", None),
        ("staff", "Beranda", "/", None),
        ("staff", "Daftar peserta", "/peserta", None),
        ("staff", "Daftar peserta baru", "/peserta/daftar", None),
        ("staff", "Daftar peserta baru, NIK sudah terdaftar", "/peserta/daftar", _type_known_nik),
        ("staff", "Daftar peserta baru, isian salah", "/peserta/daftar", _submit_empty("Simpan pendaftaran")),
        ("staff", "Halaman peserta", f"/peserta/{ids['participant']}", None),
        ("staff", "Antrean daring", "/peserta/antrean", None),
        ("staff", "Impor", "/peserta/impor", None),
        ("staff", "Daftar pelatihan", "/pelatihan", None),
        ("staff", "Halaman pelatihan", f"/pelatihan/{ids['course']}", None),
        ("staff", "Terbitkan sertifikat", f"/pelatihan/{ids['course']}/sertifikat/terbitkan", None),
        ("staff", "Register sertifikat", "/sertifikat", None),
        ("staff", "Register surat SKU", "/surat-sku", None),
        ("staff", "Siap izin", "/siap-izin", None),
        ("staff", "Daftar acara", "/acara", None),
        ("staff", "Halaman acara", f"/acara/{ids['event']}", None),
        ("staff", "Kehadiran acara", f"/acara/{ids['event']}/kehadiran", None),
        ("staff", "Rekap mingguan", "/laporan/mingguan", None),
        ("facilitator", "Beranda fasilitator", "/", None),
        ("facilitator", "Daftar hadir pertemuan", f"/pertemuan/{ids['meeting']}", None),
        ("facilitator", "Check-in", f"/pertemuan/{ids['meeting']}/check-in", None),
        ("manager", "Dasbor", "/dasbor", None),
        ("admin", "Pengguna", "/admin/pengguna", None),
        ("admin", "Pengaturan", "/pengaturan", None),
        ("admin", "Kop surat", "/pengaturan/kop-surat", None),
        ("admin", "Log audit", "/admin/audit", None),
    ]


def walk(page, ids: dict):
    """Visit every main page, logging in as each role in turn; yields (name, url) once each is ready."""
    role = None
    for wanted, name, url, act in main_pages(ids):
        if wanted != role:
            page.context.clear_cookies()
            if wanted:
                browser_login(page, USERS[wanted], PASSWORD)
            role = wanted
        response = page.goto(url)
        assert response.ok, f"{name} ({url}) answered {response.status}"
        if act:
            act(page)
        page.wait_for_load_state("networkidle")
        yield name, url


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
                         ".then(result => result.violations)", AXE_TAGS)


def describe(name: str, url: str, violation: dict) -> str:
    nodes = "\n".join(f"      {', '.join(map(str, n['target']))}: {n['failureSummary'].splitlines()[-1].strip()}"
                      for n in violation["nodes"][:5])
    more = f"\n      … and {len(violation['nodes']) - 5} more" if len(violation["nodes"]) > 5 else ""
    return f"{name} ({url}): [{violation['impact']}] {violation['id']} – {violation['help']}\n{nodes}{more}"


@pytest.fixture
def ids(app, make_user, make_participant, make_course):
    return seed(app, make_user, make_participant, make_course)


@pytest.fixture(params=[(1366, 768), (375, 812)], ids=["desk", "phone"])
def axe_page(request, browser, live_server):
    """A page like ``page``, at a desk's and at a phone's size, whose CSP lets the injected axe script run
    (the app's pages have no inline script or style of their own, so nothing else changes)."""
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="id-ID", base_url=live_server,
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_axe_harness_reports_what_it_should(axe_page):
    """The check is not vacuous: a field without a label and a nameless button are reported as such."""
    axe_page.set_content('<!doctype html><html lang="id"><head><title>Uji</title></head><body><main>'
                         '<h1>Uji</h1><input id="x"><button></button></main></body></html>')
    found = {v["id"]: v["impact"] for v in axe_violations(axe_page)}
    assert found.get("label") == "critical" and found.get("button-name") == "critical", found


def test_no_serious_or_critical_axe_violation_on_main_pages(axe_page, ids):
    """At both sizes; at the phone's, no page scrolls sideways either (WCAG 1.4.10, reflow)."""
    page, problems, notes, seen = axe_page, [], [], 0
    for name, url in walk(page, ids):
        for violation in axe_violations(page):
            (problems if violation["impact"] in BLOCKING else notes).append(describe(name, url, violation))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{name} ({url}): scrolls sideways by {overflow}px at {page.viewport_size['width']}px")
        seen += 1
    assert seen == len(main_pages(ids))
    print("\n".join(["axe-core, moderate or minor (not failing):", *notes]) if notes else "axe-core: nothing to note")
    assert not problems, "axe-core found serious or critical violations:\n" + "\n".join(problems)


def test_no_request_leaves_the_machine_on_main_pages(page, live_server, ids):
    """Every main page, its scripts, styles, fonts and htmx requests stay on the app's own host."""
    for name, url in walk(page, ids):
        assert foreign_requests(page, live_server) == [], f"{name} ({url}) asked another host"
    own = [u for u in page.requests_seen if u.startswith(live_server)]
    assert any(u.endswith(".js") for u in own) and any(u.endswith(".css") for u in own)  # the recorder works
    assert any("/peserta/cek-nik" in u for u in own)  # and saw the htmx request made while typing


def test_walkin_form_by_keyboard_in_tab_order_and_enter_submits(app, page, live_server, make_user):
    """Tab from the NIK visits every field once, in the order shown, then the button; typing alone fills
    the form (the NIK fills birth date and gender), and Enter on the button saves."""
    make_user("staff", username=USERS["staff"])
    browser_login(page, USERS["staff"], PASSWORD)
    page.goto("/peserta/daftar")
    expect(page.get_by_label("NIK (16 angka)")).to_be_focused()
    # The stops as shown (one per radio group), read from the page itself.
    shown = page.evaluate("""() => {
        const form = document.querySelector('main form');
        const stops = [];
        for (const el of form.querySelectorAll('input, select, textarea, button')) {
            if (el.type === 'hidden' || el.disabled || !el.offsetParent) continue;
            const key = el.type === 'radio' ? 'radio:' + el.name : (el.id || el.name || el.textContent.trim());
            if (!stops.includes(key)) stops.push(key);
        }
        return stops;
    }""")
    assert shown[0] == "nik" and shown[-1] == "Simpan pendaftaran"
    assert {"name", "birth_date", "radio:gender", "phone", "email", "address", "kelurahan", "business_name",
            "sector_id", "stage"} <= set(shown)
    typed = {"nik": "3174014503909905", "name": "Dewi Lestari", "phone": "0812 3456 7891",
             "email": "dewi@contoh.id", "address": "Jl. Tebet Raya 12", "kelurahan": "Manggarai",
             "business_name": "Kue Dewi", "sector_id": "Kuliner", "stage": "Baru"}
    focused = """() => { const el = document.activeElement;
        return el.type === 'radio' ? 'radio:' + el.name : (el.id || el.name || el.textContent.trim()); }"""
    visited = []
    for stop in shown:
        if visited:
            page.keyboard.press("Tab")
            for _ in range(3):  # a date field's day, month and year are stops of one field
                if page.evaluate(focused) != visited[-1]:
                    break
                page.keyboard.press("Tab")
        visited.append(page.evaluate(focused))
        if visited[-1] in typed:
            page.keyboard.type(typed[visited[-1]], delay=5)
        if visited[-1] == "nik":
            expect(page.get_by_text("NIK sah · Perempuan · lahir 5 Maret 1990")).to_be_visible()
    assert visited == shown
    expect(page.get_by_label("Tanggal lahir")).to_have_value("1990-03-05")
    expect(page.get_by_label("Perempuan")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Pendaftaran tersimpan")).to_be_visible()
    expect(page.locator("#reg-number")).to_have_text(re.compile(r"^317401-\d{4}-00001$"))
    with app.app_context():
        saved = db.session.scalars(select(Participant)).one()
        assert (saved.name, saved.birth_date.isoformat(), saved.gender, saved.email, saved.kelurahan.name,
                saved.business_name, saved.sector.name, saved.stage) == (
            "Dewi Lestari", "1990-03-05", "P", "dewi@contoh.id", "Manggarai", "Kue Dewi", "Kuliner", "baru_mulai")
    assert foreign_requests(page, live_server) == []
