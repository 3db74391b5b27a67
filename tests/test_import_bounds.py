"""Import files are bounded before they are parsed: a zip bomb, too many rows or columns, a file too big
are refused next to the file field (422) within seconds, and nothing is kept."""
import io
import itertools
import re
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.participants.importer import ImportFileError, ImportLimits, _collect, read_table
from app.participants.models import Participant
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from tests.conftest import csrf_from, post_form
from tests.test_import import GOOD, HEADER, csv_bytes, mapping_form

SHEET = "xl/worksheets/sheet1.xml"
MB = 1024 * 1024
ROW = ["3174011708859901", "Budi Santoso", "Manggarai"]


def xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_sheet(content: bytes, parts, level: int = 6) -> bytes:
    """The workbook ``content`` with its sheet XML replaced by the chunks ``parts`` yields (streamed)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for item in source.infolist():
            if item.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as sheet:
                    for part in parts:
                        sheet.write(part)
            else:
                target.writestr(item.filename, source.read(item))
    return out.getvalue()


def padded(content: bytes, megabytes: int) -> bytes:
    """A valid workbook whose sheet XML carries ``megabytes`` of spaces after its data (allowed XML)."""
    xml = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    head, tail = xml.split(b"</sheetData>")
    block = b" " * MB
    return with_sheet(content, itertools.chain([head, b"</sheetData>"], itertools.repeat(block, megabytes), [tail]),
                      level=1)


def upload(client, name, content):
    """POST the upload form; the body is encoded in memory (the test client's own encoder leaves a
    temporary file open for bodies over 500 KB)."""
    url = "/peserta/impor"
    body, _, boundary = stream_encode_multipart({"csrf_token": csrf_from(client, url),
                                                 "file": FileStorage(io.BytesIO(content), filename=name)},
                                                use_tempfile=False)
    return client.post(url, data=body.getvalue(), content_type=f'multipart/form-data; boundary="{boundary}"')


def kept_uploads(app) -> set[str]:
    folder = Path(app.instance_path) / "imports"
    return {p.name for p in folder.glob("*.json")} if folder.exists() else set()


def refused(app, client, name, content, message, monkeypatch=None):
    """Upload ``content``; assert the form comes back 422 with ``message`` at the file field, fast, keeping nothing."""
    before = kept_uploads(app)
    started = time.monotonic()
    response = upload(client, name, content)
    elapsed = time.monotonic() - started
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    field = re.search(r'<p class="error" id="file-error">(.*?)</p>', html, re.S)
    assert field and message in field.group(1), html
    assert elapsed < 10
    assert kept_uploads(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0
    return html


def test_zip_bomb_is_refused_from_its_zip_directory_alone(app, client, login_as, monkeypatch):
    """~1 MB that inflates to 200 MB: refused from the zip directory; openpyxl never opens it."""
    login_as("staff")
    bomb = padded(xlsx([["NIK", "Nama", "Kelurahan"], ROW]), 200)
    assert len(bomb) < 2 * MB
    import openpyxl

    def never(*args, **kwargs):
        raise AssertionError("the workbook must be refused before it is parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    refused(app, client, "peserta.xlsx", bomb, "setelah dibuka; paling besar 50 MB")


def test_a_member_that_inflates_like_a_bomb_is_refused_under_the_total(app, client, login_as):
    """20 MB of one byte repeated stays under the 50 MB total, but inflates ~1,000 times: refused."""
    login_as("staff")
    refused(app, client, "peserta.xlsx", padded(xlsx([["NIK", "Nama", "Kelurahan"], ROW]), 20), "tidak wajar")


def test_a_row_of_thousands_of_empty_cells_is_refused_before_openpyxl_builds_it(app, client, login_as):
    login_as("staff")
    content = xlsx([["NIK", "Nama", "Kelurahan"], ROW])
    xml = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    head, rest = xml.split(b"<sheetData>")
    _, tail = rest.split(b"</sheetData>")
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>NIK</t></is></c>' + b"<c/>" * 5000 + b"</row>"
    bloated = with_sheet(content, [head, b"<sheetData>", row, b"</sheetData>", tail])
    refused(app, client, "peserta.xlsx", bloated, "lebih dari 2.000 sel")


def test_a_sheet_with_too_many_cells_in_all_is_refused_before_it_is_parsed():
    """Cells are what openpyxl is slow at: their number is bounded before the sheet is parsed."""
    content = xlsx([["NIK", "Nama", "Kelurahan"]] + [[f"x{i}"] * 30 for i in range(50)])
    with pytest.raises(ImportFileError, match="lebih dari 1.000 sel"):
        read_table("lebar.xlsx", content, ImportLimits(cells=1000))
    assert len(read_table("lebar.xlsx", content, ImportLimits(cells=2000))[1]) == 50


def test_a_stated_sheet_size_is_not_trusted():
    """A sheet claiming A1:XFD1048576 is read as the cells it has, not padded to 16,384 columns."""
    content = xlsx([["NIK", "Nama", "Kelurahan"], ROW])
    xml = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    huge = re.sub(rb'<dimension ref="[^"]+"\s*/>', b'<dimension ref="A1:XFD1048576"/>', xml)
    assert huge != xml
    started = time.monotonic()
    headers, rows = read_table("peserta.xlsx", with_sheet(content, [huge]))
    assert time.monotonic() - started < 5
    assert headers == ["NIK", "Nama", "Kelurahan"] and rows == [ROW]


def test_too_many_rows_in_a_workbook(app, client, login_as, monkeypatch):
    login_as("staff")
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 50)
    rows = [["NIK", "Nama", "Kelurahan"]] + [[f"31740117088599{i:02d}", f"Peserta {i}", "Manggarai"] for i in range(51)]
    refused(app, client, "peserta.xlsx", xlsx(rows), "lebih dari 50 baris data")
    assert upload(client, "peserta.xlsx", xlsx(rows[:51])).status_code == 302  # exactly the limit


def test_too_many_rows_in_a_csv_at_the_real_limit(app, client, login_as):
    login_as("staff")
    rows = [f"3174010101{80 + i // 9000:02d}{i % 9000 + 1:04d},Peserta {i},,,,Manggarai,,," for i in range(20_001)]
    refused(app, client, "besar.csv", csv_bytes(rows), "lebih dari 20.000 baris data")


def test_csv_too_big(app, client, login_as):
    """11 MB passes the request limit (16 MB) but not the import's own (10 MB): refused at the field."""
    login_as("staff")
    content = HEADER.encode() + b"3174011708859901,Budi,,,,Manggarai,,,\n" * (11 * MB // 38)
    assert 10 * MB < len(content) < 16 * MB
    refused(app, client, "besar.csv", content, "Berkas lebih besar dari 10 MB")


def test_csv_with_too_many_columns(app, client, login_as):
    login_as("staff")
    content = ("NIK,Nama," + ",".join(f"K{i}" for i in range(150)) + "\n1,Budi\n").encode()
    refused(app, client, "lebar.csv", content, "lebih dari 100 kolom")


def test_reading_stops_at_the_first_row_past_the_limit():
    """The rows are counted as they stream: an endless source ends in a refusal, read one row past the limit."""
    read = itertools.count()

    def endless():
        for n in read:
            yield [f"3174011708859{n:03d}", "Budi"]

    limits = ImportLimits(rows=100)
    with pytest.raises(ImportFileError, match="lebih dari 100 baris data"):
        _collect(endless(), limits)
    assert next(read) == 102  # rows 0-101 read: the header and 100 data rows kept, the next refused; no more
    with pytest.raises(ImportFileError, match="termasuk baris kosong"):
        _collect(itertools.repeat([""] * 5), limits)  # endless blank rows end too


def test_normal_files_still_import(app, client, login_as):
    login_as("staff")
    for name, content in (("ekspor.csv", csv_bytes(GOOD)),
                          ("ekspor.xlsx", xlsx([HEADER.strip().split(",")] + [r.split(",") for r in GOOD]))):
        response = upload(client, name, content)
        assert response.status_code == 302, response.get_data(as_text=True)
        map_url = response.headers["Location"]
        mapping = mapping_form(client.get(map_url).get_data(as_text=True))
        done = post_form(client, map_url + "/simpan", mapping, token_url=map_url)
        assert re.search(r'id="created-count">(2|0)<', done.get_data(as_text=True))  # the second adds no one
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 2


def test_the_upload_form_states_the_limits(client, login_as):
    login_as("staff")
    assert "Paling besar 10 MB dan 20.000 baris data sekali impor." in client.get("/peserta/impor").get_data(as_text=True)
