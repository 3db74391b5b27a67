"""Import from CSV/XLSX: upload, mapping, preview with reasons, all-or-nothing, idempotent."""
import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from tests.conftest import post_form
from tests.worker import wait_for_job

HEADER = "NIK,Nama lengkap,Nomor HP,Tanggal lahir,Jenis kelamin,Kelurahan,Nama usaha,Sektor usaha,Tahap usaha\n"
GOOD = [
    "3174011708859901,Budi Santoso,0812-3456-7890,17-08-1985,L,Manggarai,Bakso Budi,Kuliner,Sudah berjalan",
    "3174014503909902,Siti Aminah,,,P,31.74.01.1002,,Kriya,Ide",
]
BAD = [
    "3174O11708859903,Huruf O,0812,,,Manggarai,,,",         # letter in NIK
    "3174011708859901,Budi Lagi,0812-3456-7890,,L,Manggarai,,,",  # same NIK as row 2
    "3174011708859904,Tanpa Kelurahan,,,,Antah Berantah,,,",  # unknown kelurahan
    "3174011708859905,Sektor Aneh,,,,Manggarai,,Antariksa,",  # unknown sector
]


def upload(client, name, content, **extra):
    url = "/peserta/impor"
    return post_form(client, url, {"file": (io.BytesIO(content), name), **extra}, token_url=url,
                     content_type="multipart/form-data")


def csv_bytes(rows):
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def mapping_form(html):
    """The selected column of every mapping select, as the browser would send it."""
    data = {}
    for target, body in re.findall(r'<select id="map_(\w+)" name="map_\w+"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="(\d+)" selected>', body)
        data[f"map_{target}"] = chosen.group(1) if chosen else ""
    return data


def run_to_preview(client, name, content):
    response = upload(client, name, content)
    assert response.status_code == 302, response.get_data(as_text=True)
    map_url = response.headers["Location"]
    html = client.get(map_url).get_data(as_text=True)
    preview = post_form(client, map_url, mapping_form(html), token_url=map_url)
    return map_url, mapping_form(html), preview


def test_csv_import_preview_then_commit(app, client, login_as):
    login_as("staff")
    map_url, mapping, preview = run_to_preview(client, "ekspor.csv", csv_bytes(GOOD + BAD))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert re.search(r'id="good-count">2<', html) and re.search(r'id="bad-count">4<', html)
    assert "NIK hanya boleh berisi angka." in html and "NIK sama dengan baris 2" in html
    assert "Kelurahan kosong atau tidak dikenal." in html and "Antariksa" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0  # preview saves nothing
    done = post_form(client, map_url + "/simpan", mapping, token_url=map_url)
    assert re.search(r'id="created-count">2<', done.get_data(as_text=True))
    with app.app_context():
        rows = {p.nik: p for p in db.session.scalars(select(Participant))}
        assert set(rows) == {"3174011708859901", "3174014503909902"}
        budi = rows["3174011708859901"]
        assert (budi.channel, budi.status, budi.phone, budi.stage, budi.sector.code) == (
            "import", "active", "+6281234567890", "berjalan", "kuliner")
        assert rows["3174014503909902"].birth_date.isoformat() == "1990-03-05"  # from the NIK
        assert db.session.scalar(select(func.count()).select_from(ParticipantStep)) == 2


def test_importing_the_same_file_twice_adds_no_one(app, client, login_as):
    login_as("staff")
    for attempt in range(2):
        map_url, mapping, preview = run_to_preview(client, "ekspor.csv", csv_bytes(GOOD))
        post_form(client, map_url + "/simpan", mapping, token_url=map_url)
    html = preview.get_data(as_text=True)
    assert "NIK sudah terdaftar; baris dilewati" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 2


def test_xlsx_with_numeric_nik_and_dates(app, client, login_as):
    from datetime import date

    login_as("staff")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["No KTP", "Nama", "No HP", "Tgl Lahir", "Kel"])
    sheet.append([3174011708859901, "Budi Santoso", "081234567890", date(1985, 8, 17), "Manggarai"])
    out = io.BytesIO()
    workbook.save(out)
    map_url, mapping, preview = run_to_preview(client, "form.xlsx", out.getvalue())
    assert mapping["map_nik"] == "0" and mapping["map_name"] == "1" and mapping["map_kelurahan"] == "4"
    assert re.search(r'id="good-count">1<', preview.get_data(as_text=True))


@pytest.mark.parametrize("name,content,message", [
    ("data.pdf", b"%PDF-1.4", "harus berformat CSV atau XLSX"),
    ("kosong.csv", b"", "Berkas kosong"),
    ("judul.csv", HEADER.encode(), "tidak ada baris data"),
    ("rusak.xlsx", b"PK\x03\x04 not really", "tidak dapat dibaca"),
])
def test_bad_files(app, client, login_as, name, content, message):
    login_as("staff")
    response = upload(client, name, content)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_missing_required_columns(app, client, login_as):
    login_as("staff")
    response = upload(client, "x.csv", b"Nama,Alamat\nBudi,Jl. A\n")
    map_url = response.headers["Location"]
    html = client.get(map_url).get_data(as_text=True)
    result = post_form(client, map_url, mapping_form(html), token_url=map_url)
    text = result.get_data(as_text=True)
    assert result.status_code == 422 and "Kolom untuk NIK wajib dipilih." in text
    assert "Kolom untuk Kelurahan domisili wajib dipilih." in text


def test_ten_thousand_rows_some_bad(app, client, login_as, worker):
    """A file of more than IMPORT_JOB_ROWS rows is imported by the worker; its page shows the result."""
    login_as("staff")
    rows = []
    for i in range(10_000):
        serial = f"{i % 9999 + 1:04d}"
        day = 1 + (i // 9999)
        nik = f"317401{day:02d}0885{serial}"
        rows.append(f"{nik},Peserta {i},,,,Manggarai,,,")
    rows[17] = "31740101088500000,Terlalu Panjang,,,,Manggarai,,,"
    rows[4242] = "3174013208850001,Tanggal Salah,,,,Manggarai,,,"
    map_url, mapping, preview = run_to_preview(client, "besar.csv", csv_bytes(rows))
    html = preview.get_data(as_text=True)
    assert re.search(r'id="good-count">9\.998<', html) and re.search(r'id="bad-count">2<', html)
    job_url = post_form(client, map_url + "/simpan", mapping, token_url=map_url).headers["Location"]
    assert re.fullmatch(r"/pekerjaan/\d+", job_url)
    html = wait_for_job(client, job_url)
    assert 'data-state="done"' in html and re.search(r'id="created-count">9\.998<', html), html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 9998
        numbers = db.session.scalars(select(Participant.reg_number)).all()
        assert len(set(numbers)) == 9998 and "317401-2026-09998" in numbers


def test_failure_mid_import_leaves_nothing(app, client, login_as, monkeypatch):
    import app.participants.importer as importer

    login_as("staff")
    map_url, mapping, _ = run_to_preview(client, "ekspor.csv", csv_bytes(GOOD))

    original = importer.import_rows

    def half_then_fail(results, kecamatan, user_id, filename, progress=None):
        original(results, kecamatan, user_id, filename)  # rows inserted in the transaction...
        raise RuntimeError("gagal di tengah jalan")       # ...then something breaks

    monkeypatch.setattr(importer, "import_rows", half_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = post_form(client, map_url + "/simpan", mapping, token_url=map_url)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0


def test_template_files(client, login_as):
    login_as("staff")
    text = client.get("/peserta/impor/templat.csv").get_data(as_text=True)
    assert text.lstrip("\ufeff").startswith("NIK,Nama lengkap,Nomor HP")
    with client.get("/peserta/impor/templat.xlsx") as response:
        assert response.data[:2] == b"PK"


def test_another_users_upload_is_404(app, client, login_as, make_user):
    from tests.conftest import login

    login_as("staff")
    response = upload(client, "ekspor.csv", csv_bytes(GOOD))
    map_url = response.headers["Location"]
    other = app.test_client()
    login(other, make_user("staff").username)
    assert other.get(map_url).status_code == 404
