"""Every kind of PDF checked as paper: fetched through its real URL as the role that prints it, then opened
with pypdf for page size and orientation, extractable text, embedded fonts and, for 100 rows, the page
count the layout gives; a sign-in sheet row never splits across pages.

The page counts are computed from the print CSS (pdf/base.html and each document's own style), not read
back from the PDF: a change of margins, row height or letterhead shows up here as a changed count.
"""
import io
import math
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.events.services import sign_up
from app.extensions import db
from app.participants.models import Participant
from app.settings.services import save_letterhead
from app.training.models import Course, Enrollment
from app.training.services import mark
from tests.conftest import kecamatan_by_code, login, post_form
from tests.test_events import make_event, people
from tests.test_pdf import _fonts
from tests.test_steps import give_steps, set_mode
from tests.test_training import enrol_new, issue_by_post

A4, F4 = (210, 297), (215, 330)

# --- The layout, in millimetres, from the print CSS ------------------------------------------------
PT = 25.4 / 72
LINE = 10 * 1.35 * PT                     # body text: 10pt, line-height 1.35
RULE = 0.6 * PT                           # a collapsed table border
CELL = 2 * 1.2 + LINE + RULE              # a one-line table row (and the header row, repeated on every page)
CELL_9PT = 2 * 1.2 + 9 * 1.35 * PT + RULE  # the same in a 9pt table (the sign-up list's six columns)
SIGN_ROW = 2 * 1.2 + 8 + RULE             # a sign-in sheet row: an 8 mm cell (room to sign) plus padding
BODY = 6 * PT                             # WeasyPrint's default body margin (8px), first and last page only
KOP = LINE + 13 * 1.35 * PT + 2 + 2.2 * PT  # letterhead without address: 2 lines, padding, double rule
H1 = 13 * 1.35 * PT                       # document title
PRINTABLE = {"A4": 297 - 15 - 18, "F4": 330 - 15 - 18}  # @page margin: 15 mm top, 18 mm bottom
# Above the table on the first page: letterhead, title (its 4 mm top margin collapses the letterhead's
# 3 mm), and the subtitle (sign-in sheet: 2 lines with a 3 mm gap; lists: one <p> with 1em margins).
SIGN_HEAD = BODY + KOP + 4 + H1 + 1 + 2 * LINE + 3
LIST_HEAD = BODY + KOP + 4 + H1 + 10 * PT + LINE + 10 * PT
SIGN_FOOT = 6 + 5 * LINE + BODY           # the facilitator's signature block, never split from itself
LIST_FOOT = SIGN_FOOT                     # the same block under the other lists (pdf/_list.html)


def table_pages(rows: int, printable: float, head: float, header: float, row: float, foot: float = 0.0,
                keep: int = 0) -> list[int]:
    """Rows on each page of a table whose header row repeats on every page and whose rows never split;
    ``head`` is what stands above the table on the first page, ``foot`` what must follow the last row,
    and ``keep`` how many last rows go with the foot to the next page when it does not fit."""
    pages, used = [0], head + header
    for _ in range(rows):
        if used + row > printable:
            pages.append(0)
            used = header
        used += row
        pages[-1] += 1
    if used + foot > printable:
        moved = min(keep, pages[-1])
        pages[-1] -= moved
        pages.append(moved)
    return pages


# --- Checks ---------------------------------------------------------------------------------------

def pdf(response) -> PdfReader:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    data = response.data
    response.close()
    return PdfReader(io.BytesIO(data))


def assert_paper(reader: PdfReader, paper: tuple[int, int], landscape: bool = False) -> None:
    width, height = (paper[1], paper[0]) if landscape else paper
    for number, page in enumerate(reader.pages, start=1):
        w, h = float(page.mediabox.width) / 72 * 25.4, float(page.mediabox.height) / 72 * 25.4
        assert abs(w - width) <= 1 and abs(h - height) <= 1, f"page {number} is {w:.1f} x {h:.1f} mm"
        assert page.get("/Rotate", 0) == 0


def assert_fonts_embedded(reader: PdfReader) -> None:
    embedded, missing = _fonts(reader)
    assert embedded and not missing, f"fonts not embedded: {missing}"


def texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def rows_by_page(pages: list[str], header: str, row: re.Pattern) -> list[list[re.Match]]:
    """Each page's table rows: the page repeats the table's header, and every line under it that starts
    with a number is a whole row (a row split across pages would leave a part on each)."""
    found = []
    for number, text in enumerate(pages, start=1):
        lines = text.splitlines()
        assert header in lines, f"page {number} has no table header"
        lines = [line for line in lines[lines.index(header) + 1:] if re.match(r"\d+ ", line)]
        matches = [row.fullmatch(line) for line in lines]
        broken = [line for line, m in zip(lines, matches) if m is None]
        assert not broken, f"page {number} has a row that is not whole: {broken}"
        found.append(matches)
    return found


# --- Data -----------------------------------------------------------------------------------------

def course_of(app, make_user, make_course, make_participant, count: int) -> tuple[int, int]:
    facilitator = make_user("facilitator", username="fasil.tebet")
    course_id = make_course(facilitator=facilitator, meetings=1, capacity=max(count, 10))
    enrol_new(app, make_participant, course_id, count)
    with app.app_context():
        return course_id, db.session.get(Course, course_id).meetings[0].id


# --- Documents ------------------------------------------------------------------------------------

def test_card_sheet_of_100_cards(app, client, make_user, make_participant):
    """Cards of 85.6 x 54 mm with 4 mm gaps on A4 (12/10 mm margins): 2 across, 4 down, 8 a sheet."""
    make_user("staff", username="desk.tebet")
    people(make_participant, 100)
    login(client, "desk.tebet")
    reader = pdf(client.get("/peserta/kartu.pdf"))
    across = math.floor((210 - 2 * 10) / (85.6 + 4))
    down = math.floor((297 - 2 * 12 + 4 - (7 * 1.35 * PT + 3 + BODY)) / (54 + 4))
    per_sheet = across * down
    assert (across, down) == (2, 4)
    assert len(reader.pages) == math.ceil(100 / per_sheet) == 13
    assert_paper(reader, A4)
    assert_fonts_embedded(reader)
    pages = texts(reader)
    assert "Gunting di sepanjang garis putus-putus. 100 kartu." in pages[0]
    numbers = [re.findall(r"317401-\d{4}-\d{5}", text) for text in pages]
    assert [len(n) for n in numbers] == [8] * 12 + [4]
    assert [n[-5:] for page in numbers for n in page] == [f"{i:05d}" for i in range(1, 101)]
    assert "Pedagang 00" in pages[0] and "PESERTA JAKPRENEUR / OK OCE" in pages[0]


@pytest.mark.parametrize("paper", ["A4", "F4"])
def test_sign_in_sheet_of_100_rows_never_splits_a_row(app, client, make_user, make_course, make_participant, paper):
    _, meeting = course_of(app, make_user, make_course, make_participant, 100)
    login(client, "fasil.tebet")
    reader = pdf(client.get(f"/pertemuan/{meeting}/daftar-hadir.pdf?kertas={paper}"))
    # 100 enrolled and 10 blank rows for walk-ins; the signature takes the last two rows with it.
    expected = table_pages(110, PRINTABLE[paper], SIGN_HEAD, CELL, SIGN_ROW, SIGN_FOOT, keep=2)
    assert expected == {"A4": [20, 24, 24, 24, 18], "F4": [23, 27, 27, 27, 6]}[paper]  # the model, spelled out
    assert len(reader.pages) == len(expected)
    assert_paper(reader, A4 if paper == "A4" else F4)
    assert_fonts_embedded(reader)
    pages = texts(reader)
    assert "DAFTAR HADIR PELATIHAN" in pages[0] and "Dasar Usaha Kuliner — Pertemuan 1" in pages[0]
    # A row is number, name, registration number, kelurahan and the numbered place to sign, on one line;
    # a blank row for a walk-in is its number and the numbered place to sign.
    row = re.compile(r"(\d+) (?:(Peserta \d{3}) (317401-\d{4}-\d{5}) (Tebet Timur) )?(\d+)\.")
    found = rows_by_page(pages, "No. Nama No. pendaftaran Kelurahan Tanda tangan", row)
    assert [len(m) for m in found] == expected
    numbers = [int(m[1]) for page in found for m in page]
    assert numbers == list(range(1, 111))  # continues across pages: no gap, no repeat
    assert all(m[1] == m[5] for page in found for m in page)
    named = [m for page in found for m in page if m[2]]
    assert [int(m[1]) for m in named] == list(range(1, 101))
    assert sorted(m[2] for m in named) == [f"Peserta {i:03d}" for i in range(100)]
    assert "Fasilitator," in pages[-1] and "Facilitator Uji" in pages[-1]
    assert f"Halaman {len(pages)} dari {len(pages)}" in pages[-1]
    for number, text in enumerate(pages, start=1):  # the running header: every page says what it is
        assert "Daftar hadir · Dasar Usaha Kuliner — Pertemuan 1" in text, f"page {number} has no title"


@pytest.mark.parametrize("paper,enrolled", [("A4", 33), ("F4", 39), ("F4", 66)])
def test_sign_in_sheet_signature_never_alone(app, client, make_user, make_course, make_participant, paper, enrolled):
    """Row counts where the signature alone would fill the last page: it takes the last rows with it,
    every page carries the course and meeting, and ten numbered blank rows follow the enrolled."""
    _, meeting = course_of(app, make_user, make_course, make_participant, enrolled)
    assert table_pages(enrolled + 10, PRINTABLE[paper], SIGN_HEAD, CELL, SIGN_ROW, SIGN_FOOT)[-1] == 0
    login(client, "fasil.tebet")
    reader = pdf(client.get(f"/pertemuan/{meeting}/daftar-hadir.pdf?kertas={paper}"))
    assert_paper(reader, A4 if paper == "A4" else F4)
    pages = texts(reader)
    assert 2 <= len(pages) <= 4
    row = re.compile(r"(\d+) (?:(Peserta \d{3}) (317401-\d{4}-\d{5}) (Tebet Timur) )?(\d+)\.")
    found = rows_by_page(pages, "No. Nama No. pendaftaran Kelurahan Tanda tangan", row)
    assert len(found[-1]) >= 2 and "Fasilitator," in pages[-1] and "Facilitator Uji" in pages[-1]
    assert [int(m[1]) for page in found for m in page] == list(range(1, enrolled + 11))
    assert [int(m[1]) for page in found for m in page if not m[2]] == list(range(enrolled + 1, enrolled + 11))
    for number, text in enumerate(pages, start=1):
        assert "Dasar Usaha Kuliner — Pertemuan 1" in text, f"page {number} has no course and meeting"


def test_certificates_one_per_landscape_page(app, client, make_user, make_course, make_participant):
    course_id, meeting = course_of(app, make_user, make_course, make_participant, 4)
    make_user("staff", username="desk.tebet")
    with app.app_context():
        from app.auth.models import User

        facilitator = db.session.scalars(select(User).where(User.username == "fasil.tebet")).one()
        meeting_ = db.session.get(Course, course_id).meetings[0]
        enrolments = db.session.scalars(select(Enrollment).where(Enrollment.course_id == course_id)
                                        .order_by(Enrollment.id)).all()
        for enrolment in enrolments[:3]:  # the fourth did not come and gets no certificate
            mark(meeting_, enrolment, "hadir", facilitator)
        db.session.commit()
    login(client, "desk.tebet")
    assert issue_by_post(client, course_id).status_code == 302
    reader = pdf(client.get(f"/pelatihan/{course_id}/sertifikat.pdf"))
    assert len(reader.pages) == 3
    assert_paper(reader, A4, landscape=True)
    assert_fonts_embedded(reader)
    for number, text in enumerate(texts(reader)):
        assert "SERTIFIKAT" in text and "Dasar Usaha Kuliner" in text and "KANTOR KECAMATAN TEBET" in text
        assert re.findall(r"Peserta \d{3}", text) == [f"Peserta {number:03d}"]
        assert len(re.findall(r"\d{5}/SERT-PKT/317401/\d{4}", text)) == 1


@pytest.mark.parametrize("paper", ["A4", "F4"])
def test_sku_request_letters_one_per_page(app, client, make_user, make_participant, paper):
    set_mode(app, "bebas")
    make_user("staff", username="desk.tebet")
    ids = people(make_participant, 3)
    for pid in ids:
        give_steps(app, pid, 2)
    with app.app_context():
        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet",
                                                        "camat_name": "Drs. Camat Tebet"})
        db.session.commit()
    login(client, "desk.tebet")
    reader = pdf(post_form(client, f"/siap-izin/surat.pdf?kertas={paper}",
                           {"participant_id": [str(i) for i in ids]}, token_url="/siap-izin"))
    assert len(reader.pages) == 3
    assert_paper(reader, A4 if paper == "A4" else F4)
    assert_fonts_embedded(reader)
    for number, text in enumerate(texts(reader)):
        assert "Permohonan Surat Keterangan Usaha" in text and "Drs. Camat Tebet" in text
        assert re.findall(r"Pedagang \d{2}", text) == [f"Pedagang {number:02d}"]
        assert re.findall(r"\b(\d{3})/PKT/[IVX]+/\d{4}", text) == [f"{number + 1:03d}"]


def test_event_booth_list_and_signup_list_of_100(app, client, make_user, make_participant):
    make_user("staff", username="desk.tebet")
    set_mode(app, "bebas")  # sign-ups without the steps before P5
    event_id = make_event(app, booths=100)
    ids = people(make_participant, 105)
    with app.app_context():
        for pid in ids:  # 100 booths, then 5 on the waiting list
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
    login(client, "desk.tebet")

    booths = pdf(client.get(f"/acara/{event_id}/stan.pdf"))
    expected = table_pages(100, PRINTABLE["A4"], LIST_HEAD, CELL, CELL, LIST_FOOT, keep=2)
    assert expected == [29, 34, 34, 3]
    assert len(booths.pages) == len(expected)
    assert_paper(booths, A4)
    assert_fonts_embedded(booths)
    pages = texts(booths)
    assert "DAFTAR STAN — Bazar Tebet" in pages[0]
    found = rows_by_page(pages, "Stan Nama Usaha Sektor HP", re.compile(r"(\d+) (Pedagang \d+) Warung Siti Kuliner \+62\d+"))
    assert [len(m) for m in found] == expected
    assert [int(m[1]) for page in found for m in page] == list(range(1, 101))
    assert "Petugas kecamatan," in pages[-1] and found[-1]  # the signature with the last rows
    assert all("Daftar stan · Bazar Tebet" in text for text in pages)

    signups = pdf(client.get(f"/acara/{event_id}/pendaftar.pdf"))
    expected = table_pages(115, PRINTABLE["A4"], LIST_HEAD, CELL_9PT, CELL_9PT, LIST_FOOT, keep=2)
    assert expected == [31, 37, 37, 10]  # 105 sign-ups and 10 blank rows
    assert len(signups.pages) == len(expected)
    assert_paper(signups, A4)
    assert_fonts_embedded(signups)
    pages = texts(signups)
    assert "DAFTAR PENDAFTAR — Bazar Tebet" in pages[0] and "100 terkonfirmasi, 5 menunggu, 0 batal" in pages[0]
    found = rows_by_page(pages, "No. Nama No. pendaftaran Kelurahan Status Daftar", re.compile(
        r"(\d+) (Pedagang \d+) (317401-\d{4}-\d{5}) Tebet Timur (Stan \d+|Tunggu #\d) \d{1,2} \w+ \d{4} \d{2}\.\d{2}"))
    assert [len(m) for m in found] == [31, 37, 37, 0]  # the named rows; the last page holds the blank ones
    assert [int(m[1]) for page in found for m in page] == list(range(1, 106))
    assert [m[4] for m in found[-2][-5:]] == [f"Tunggu #{i}" for i in range(1, 6)]
    assert [int(line) for line in pages[-1].splitlines() if re.fullmatch(r"\d+", line)] == list(range(106, 116))
    assert "Petugas kecamatan," in pages[-1]
    assert all("Daftar pendaftar · Bazar Tebet" in text for text in pages)


@pytest.mark.parametrize("query,paper", [("", A4), ("?kertas=F4", F4)])
def test_weekly_report_on_one_landscape_sheet(app, client, make_user, make_participant, query, paper):
    make_user("staff", username="desk.tebet")
    make_participant(name="Siti Aminah")
    login(client, "desk.tebet")
    reader = pdf(client.get(f"/laporan/mingguan.pdf{query}"))
    assert len(reader.pages) == 1  # a kecamatan's week, its seven kelurahan, fits one sheet
    assert_paper(reader, paper, landscape=True)
    assert_fonts_embedded(reader)
    text = texts(reader)[0]
    assert "REKAP MINGGUAN OK OCE / JAKPRENEUR — TEBET" in text and "KANTOR KECAMATAN TEBET" in text
    for kelurahan in ("Tebet Timur", "Tebet Barat", "Menteng Dalam", "Kebon Baru", "Bukit Duri", "Manggarai"):
        assert kelurahan in text
    assert "Halaman 1 dari 1" in text
