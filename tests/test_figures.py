"""P1 by channel and P4 by licence kind, imported from a file and read back on the dashboard and in the
weekly report's four formats; the year and "as of" selectors; every number a link to exactly its rows."""
import csv
import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.licensing.models import License
from app.participants.models import ParticipantStep
from app.reports.tallies import drift
from tests.test_import import mapping_form, upload
from tests.conftest import post_form
from tests.test_steps import set_mode

HEADERS = ["NIK", "Nama lengkap", "Kelurahan", "Tanggal daftar", "Saluran pendaftaran", "Jenis izin", "Nomor izin",
           "Tanggal izin"]
# 1,000 registered in January 2018 (300 online, 500 walk-in, 200 without a channel), all licensed on
# Wednesday 5 September 2018: 400 IUMK + 50 NIB = 450 IUMK/NIB, and 550 SKU.
LICENSED_ON = "05-09-2018"


def figures_file() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    places = ["Tebet Barat", "Tebet Timur", "Kebon Baru", "Bukit Duri", "Manggarai", "Manggarai Selatan",
              "Menteng Dalam"]
    for i in range(1000):
        channel = "Daring" if i < 300 else ("Datang langsung" if i < 800 else "")
        if i < 400:
            kind, number = "IUMK", f"IUMK-{i:04d}/2018"
        elif i < 450:
            kind, number = "NIB", f"91203{i:08d}"
        else:
            kind, number = "SKU", f"SKU/{i:04d}/IX/2018"
        sheet.append([f"317401170885{i + 1:04d}", f"Peserta Impor {i}", places[i % len(places)],
                      f"{2 + i % 20:02d}-01-2018", channel, kind, number, LICENSED_ON])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_file(client, content: bytes, name="rekap-2018.xlsx"):
    response = upload(client, name, content)
    assert response.status_code == 302, response.get_data(as_text=True)
    map_url = response.headers["Location"]
    mapping = mapping_form(client.get(map_url).get_data(as_text=True))
    preview = post_form(client, map_url, mapping, token_url=map_url)
    html = preview.get_data(as_text=True)
    token_data = {k: v for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    commit = re.search(r'action="([^"]+/simpan)"', html)
    done = client.post(commit.group(1), data=token_data) if commit else None  # no form without a good row
    return mapping, html, done


@pytest.fixture
def imported(app, make_user):
    from tests.conftest import login

    set_mode(app, "bebas")  # licences of imported participants need no P2/P3 first
    client = app.test_client()
    login(client, make_user("staff", kecamatan="31.74.01", username="meja.impor").username)
    mapping, preview, done = import_file(client, figures_file())
    assert {"map_channel", "map_license_kind", "map_license_number", "map_license_date"} <= {
        k for k, v in mapping.items() if v}
    assert re.search(r'id="good-count">1.000<', preview), re.findall(r"error-text\">([^<]*)", preview)[:3]
    assert '<span data-license="iumk">IUMK 400</span>' in preview and '<span data-license="sku">' in preview
    assert done.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(License)) == 1000
        assert db.session.scalar(select(func.count()).where(ParticipantStep.step == 4)) == 1000
        assert drift() == []


def variant_cells(html: str) -> dict[str, list[int]]:
    """data-variant rows: the numbers of their cells, by variant key."""
    rows = {}
    for key, body in re.findall(r'<tr data-variant="(\w+)">(.*?)</tr>', html, re.S):
        cells = re.findall(r"<td class=\"num\">(.*?)</td>", body, re.S)
        rows[key] = [int(re.sub(r"<[^>]+>", "", c).replace(".", "")) for c in cells]
    return rows


def figure_links(html: str) -> list[tuple[str, int]]:
    return [(href.replace("&amp;", "&"), int(n))
            for href, n in re.findall(r'<a class="figure" href="([^"]+)" data-count="(-?\d+)">', html)]


def assert_links_match(client, html: str, who: str = "") -> int:
    """Every figure's link lists exactly as many participants as the figure says."""
    links = dict(figure_links(html))
    assert links, who
    # The chart's bars open the same lists as the table's figures of their week.
    for href, n in re.findall(r'<a href="([^"]+)" class="bar-link"\s+data-count="(\d+)"', html):
        assert links.get(href.replace("&amp;", "&")) == int(n), (who, href, n)
    for href, n in links.items():
        listing = client.get(href)
        assert listing.status_code == 200, (who, href)
        shown = re.search(r'id="result-count">([\d.]+) peserta<', listing.get_data(as_text=True)).group(1)
        assert int(shown.replace(".", "")) == n, (who, href, n, shown)
    return len(links)


def test_import_with_channel_and_licences_shows_on_dashboard(app, imported, login_as, client):
    login_as("manager", kecamatan=None)
    html = client.get("/dasbor?tahun=2018").get_data(as_text=True)
    cells = variant_cells(html)
    # [up to today, within 2018]
    assert cells["p1_online"] == [300, 300] and cells["p1_walkin"] == [500, 500] and cells["p1_import"] == [200, 200]
    assert cells["p4_iumk_nib"] == [450, 450] and cells["p4_sku"] == [550, 550] and cells["p4_lainnya"] == [0, 0]
    assert re.search(r'<strong><a class="figure" [^>]*>1.000</a></strong> dari target 40.000', html)
    # The current year by default: the 2018 licences are in the totals, not in this year's figure.
    html = client.get("/dasbor").get_data(as_text=True)
    cells = variant_cells(html)
    assert cells["p4_iumk_nib"] == [450, 0] and cells["p4_sku"] == [550, 0]
    assert re.search(r'<strong><a class="figure" [^>]*>0</a></strong> dari target 40.000', html)
    # Honest targets: the province's own target apart from the sum of the kota targets.
    assert "Target provinsi (ditetapkan)" in html
    assert 'data-target="set">40.000<' in html and 'data-target="sum">53.400<' in html


def test_as_of_day_reads_figures_as_they_were(app, imported, login_as, client):
    login_as("staff", kecamatan="31.74.01")
    # Tuesday 4 September 2018: the week's Wednesday licences are not there yet (same tally week).
    html = client.get("/dasbor?per=2018-09-04").get_data(as_text=True)
    cells = variant_cells(html)
    assert cells["p4_iumk_nib"] == [0, 0] and cells["p4_sku"] == [0, 0] and cells["p1_walkin"] == [500, 500]
    assert "Keadaan per 4 September 2018" in html
    html = client.get("/dasbor?per=2018-09-05").get_data(as_text=True)
    assert variant_cells(html)["p4_sku"] == [550, 550]
    # 10 January 2018: the registrations of 2–10 January only (50 a day, 20 days cycled).
    html = client.get("/dasbor?per=2018-01-10").get_data(as_text=True)
    cells = variant_cells(html)
    assert sum(cells[k][0] for k in ("p1_online", "p1_walkin", "p1_import")) == 450
    assert_links_match(client, html, "per 2018-01-10")


@pytest.mark.parametrize("query, message", [
    ("tahun=abc", "Tahun harus empat angka"),
    ("tahun=2016", "Pilih tahun 2017 sampai"),
    ("tahun=2020&per=2018-05-01", "Pilih tahun 2017 sampai 2018"),
    ("per=2099-01-01", "Tanggal itu belum tiba"),
    ("per=kemarin", "Tanggal"),
    ("per=2015-01-01", "Program dimulai tahun 2017"),
])
def test_bad_year_or_day_gets_a_message_not_an_error(app, client, login_as, query, message):
    login_as("manager", kecamatan=None)
    response = client.get(f"/dasbor?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_weekly_report_shows_channels_and_licence_kinds_in_four_formats(app, imported, login_as, client):
    login_as("manager", kecamatan=None)
    page = client.get("/laporan/mingguan?minggu=2018-09-05").get_data(as_text=True)
    cells = variant_cells(page)  # [total up to the week's end, new this week]
    assert cells["p1_online"] == [300, 0] and cells["p1_walkin"] == [500, 0] and cells["p1_import"] == [200, 0]
    assert cells["p4_iumk_nib"] == [450, 450] and cells["p4_sku"] == [550, 550] and cells["p4_lainnya"] == [0, 0]
    assert "Target provinsi (ditetapkan)" in page
    assert_links_match(client, page, "weekly page")

    pdf = client.get("/laporan/mingguan.pdf?minggu=2018-09-05")
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 1
    for label, total, new in (("P1 Daring", 300, 0), ("P1 Datang langsung", 500, 0), ("P1 Impor", 200, 0),
                              ("P4 IUMK/NIB", 450, 450), ("P4 SKU", 550, 550)):
        assert re.search(rf"{re.escape(label)} {total} {new}", text), (label, text)

    response = client.get("/laporan/mingguan.xlsx?minggu=2018-09-05")
    book = load_workbook(io.BytesIO(response.data))
    response.close()
    summary = {(r[0], r[1]): r[2:4] for r in book["Ringkasan"].iter_rows(values_only=True) if r and r[0]}
    assert summary[("P4", "IUMK/NIB")] == (450, 450) and summary[("P4", "SKU")] == (550, 550)
    assert summary[("P1", "Daring")] == (300, 0) and summary[("P1", "Datang langsung")] == (500, 0)
    header = [c.value for c in book["Provinsi"][1]]
    province = [c.value for c in book["Provinsi"][2]]
    assert province[header.index("P4 IUMK/NIB s.d. minggu ini")] == 450
    assert province[header.index("P4 SKU baru minggu ini")] == 550
    kecamatan = {r[0]: dict(zip(header, r)) for r in book["Kecamatan"].iter_rows(min_row=2, values_only=True)}
    assert kecamatan["31.74.01"]["P1 Daring s.d. minggu ini"] == 300

    response = client.get("/laporan/mingguan.csv?minggu=2018-09-05")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")) \
        if ";" in response.get_data(as_text=True).splitlines()[0] else \
        list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    province = next(r for r in rows if r["Tingkat"] == "Provinsi")
    assert int(province["P4 IUMK/NIB s.d. minggu ini"]) == 450 and int(province["P4 SKU s.d. minggu ini"]) == 550
    assert int(province["P1 Daring s.d. minggu ini"]) == 300 and int(province["P1 Impor s.d. minggu ini"]) == 200


@pytest.mark.parametrize("who", ["staff", "kota", "province"])
def test_every_dashboard_number_is_a_link_to_that_many_rows(app, imported, make_user, client, who):
    from tests.conftest import login

    user = {"staff": lambda: make_user("staff", kecamatan="31.74.01", username="meja.tebet2"),
            "kota": lambda: make_user("manager", kecamatan=None, kota="31.74", username="sudin.jaksel2"),
            "province": lambda: make_user("manager", kecamatan=None, username="dinas2")}[who]()
    login(client, user.username)
    for query in ("", "?tahun=2018", "?per=2018-09-04"):
        html = client.get(f"/dasbor{query}").get_data(as_text=True)
        assert assert_links_match(client, html, f"{who} {query}") >= 20
        assert html.count('class="bar-link"') >= 2, (who, query)  # the chart's bars are links too (checked above)


def test_import_refuses_a_licence_dated_before_registration(app, client, login_as):
    set_mode(app, "bebas")
    login_as("staff", kecamatan="31.74.01")
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(["3174011708850001", "Izin Terlalu Awal", "Tebet Barat", "10-03-2018", "Daring", "SKU", "SKU/1",
                  "01-03-2018"])
    sheet.append(["3174011708850002", "Jenis Aneh", "Tebet Barat", "10-03-2018", "Daring", "Izin Lurah", "X/2",
                  "11-03-2018"])
    sheet.append(["3174011708850003", "NIB Pendek", "Tebet Barat", "10-03-2018", "", "NIB", "123", "11-03-2018"])
    sheet.append(["3174011708850004", "Tanpa Tanggal", "Tebet Barat", "10-03-2018", "", "IUMK", "I/4", ""])
    out = io.BytesIO()
    book.save(out)
    _mapping, preview, _done = import_file(client, out.getvalue(), "salah.xlsx")
    assert re.search(r'id="good-count">0<', preview)
    assert "sebelum tanggal daftar (10-03-2018); izin tidak boleh bertanggal sebelum pendaftaran" in preview
    assert "Jenis izin &#39;Izin Lurah&#39; tidak dikenal; isi IUMK, NIB atau SKU." in preview
    assert "Nomor izin:" in preview and "Tanggal izin kosong" in preview


def test_berurutan_mode_refuses_imported_licences_with_the_missing_steps(app, client, login_as):
    set_mode(app, "berurutan")
    login_as("staff", kecamatan="31.74.01")
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(["3174011708850005", "Urut", "Tebet Barat", "10-03-2018", "Daring", "SKU", "SKU/5", "11-03-2018"])
    out = io.BytesIO()
    book.save(out)
    _mapping, preview, _done = import_file(client, out.getvalue(), "urut.xlsx")
    assert "Mode berurutan: langkah P2 Pelatihan dan P3 Pendampingan belum selesai" in preview
