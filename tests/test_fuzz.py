"""Property tests: the parsers of what people type or upload never fail with anything but their
documented validation outcome.

NIK, phone and NIB checks return a result (an error message inside it, never an exception); the
Rupiah parser returns an amount or raises BusinessError; the import reader returns a table or
raises ImportFileError; the row check returns one result per row. And what they accept is what
the rest of the app relies on (ASCII digits, a wa.me number, an amount within bounds).
"""
import csv
import io
import re
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from app.business.services import MAX_AMOUNT, BusinessError, parse_rupiah
from app.core.formatting import angka, rupiah
from app.core.idnumbers import check_nib, check_nik, normalize_phone, phone_error, whatsapp_number
from app.extensions import db
from app.participants.importer import (MAX_CELL, MAX_ROWS, TEMPLATE_HEADERS, ImportFileError, check_rows,
                                       guess_mapping, read_table)
from tests.conftest import CSRF_RE

FUZZ = settings(max_examples=200, deadline=None, database=None)
# The database tests use the session-wide ``app``; the autouse table cleaner only runs after them.
FUZZ_DB = settings(max_examples=100, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TODAY = date(2026, 11, 23)
JAKARTA = {"317101", "317106", "317401", "317506"}

digits = st.text(alphabet="0123456789", min_size=0, max_size=20)
separators = st.text(alphabet="0123456789 .-+()", min_size=0, max_size=24)
# Other Unicode digits: str.isdigit() and re's \d accept them, int() even converts them.
ODD_DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९²³¹０１２３"
odd_digits = st.text(alphabet=ODD_DIGITS, min_size=1, max_size=20)
anything = st.one_of(st.text(max_size=40), digits, separators, odd_digits, st.none())
nik_like = st.one_of(anything, st.from_regex(r"\A3[1-7][0-9]{14}\Z"),
                     st.builds(lambda p, d, m, y, s: f"{p}{d:02d}{m:02d}{y:02d}{s}",
                               st.sampled_from(sorted(JAKARTA) + ["320101", "110101"]), st.integers(0, 99),
                               st.integers(0, 99), st.integers(0, 99), st.from_regex(r"\A[0-9]{4}\Z")))


@FUZZ
@given(nik_like, st.booleans())
def test_check_nik_returns_a_verdict(raw, with_regions):
    info = check_nik(raw, JAKARTA if with_regions else None)
    assert info.valid == (info.error is None)
    if info.valid:
        assert re.fullmatch(r"[0-9]{16}", info.nik), info.nik
        assert info.gender in ("L", "P")
        birth = info.birth_date(TODAY)
        assert birth is not None and birth <= TODAY and info.matches(birth, info.gender)
    else:
        assert isinstance(info.error, str) and info.error
        assert info.birth_date(TODAY) is None


phone_like = st.one_of(anything, st.from_regex(r"\A(\+62|62|0)?8[0-9 \-]{6,14}\Z"),
                       st.builds(lambda p, d: p + d, st.sampled_from(["081", "+6285", "6287", "89"]),
                                 st.text(alphabet=ODD_DIGITS, min_size=7, max_size=10)))


@FUZZ
@given(phone_like)
@example("0812٣٤٥٦٧٨٩٠")  # found: Arabic-Indic digits passed as a phone number
def test_phone_is_normalised_or_explained(raw):
    phone = normalize_phone(raw)
    if phone is None:
        message = phone_error(raw)
        assert isinstance(message, str) and message
    else:
        assert re.fullmatch(r"\+628[1-35-9][0-9]{7,10}", phone), phone  # ASCII: it becomes a wa.me link
        assert whatsapp_number(phone).isascii()
        assert normalize_phone(phone) == phone  # stable


@FUZZ
@given(st.one_of(anything, st.from_regex(r"\A[0-9][0-9 .\-]{11,16}\Z"),
                 st.text(alphabet=ODD_DIGITS, min_size=13, max_size=13)))
@example("²" * 13)  # found: superscript digits passed as a NIB
def test_nib_is_thirteen_ascii_digits_or_an_error(raw):
    value, error = check_nib(raw)
    assert (value is None) != (error is None)
    if value is not None:
        assert re.fullmatch(r"[0-9]{13}", value), value
    else:
        assert isinstance(error, str) and error


amount_like = st.one_of(
    anything, st.integers(-10**15, 10**15).map(str), st.integers(0, 10**15).map(angka),
    st.integers(0, 10**15).map(rupiah), st.text(alphabet="0123456789", min_size=4290, max_size=4400),
    st.from_regex(r"\A(Rp|rp)? ?-?[0-9 .,]{0,20}\Z"))


@FUZZ
@given(amount_like)
@example("1" * 5000)  # found: int() raised ValueError past 4,300 digits
def test_rupiah_parses_or_refuses(raw):
    try:
        value = parse_rupiah(raw, "amount", "Jumlah")
    except BusinessError as err:
        assert err.field == "amount" and err.message.startswith("Jumlah")
    else:
        assert type(value) is int and 0 <= value <= MAX_AMOUNT


@FUZZ
@given(st.integers(0, MAX_AMOUNT))
def test_rupiah_round_trip(value):
    """What the app shows ('Rp 1.500.000', '1.500.000') reads back as the same amount."""
    assert parse_rupiah(rupiah(value), "amount", "Jumlah") == value
    assert parse_rupiah(angka(value), "amount", "Jumlah") == value


# --- The import reader -------------------------------------------------------------------------

def _check_table(headers, rows):
    assert headers and all(isinstance(h, str) and h for h in headers)
    assert 1 <= len(rows) <= MAX_ROWS
    for row in rows:
        assert len(row) == len(headers) and all(isinstance(c, str) for c in row)
        assert all(len(c) <= MAX_CELL + 1 for c in row)


def _read(name, content):
    try:
        headers, rows = read_table(name, content)
    except ImportFileError as err:
        assert str(err)
        return None
    _check_table(headers, rows)
    return headers, rows


csv_text = st.lists(st.sampled_from(list('ab;,\t"\n\r 01x\x00é€\ufeff') + ["NIK", "Nama", "3174011708859901"]),
                    max_size=80).map("".join)


@FUZZ
@given(st.one_of(st.binary(max_size=400), csv_text.map(lambda t: t.encode("utf-8")),
                 csv_text.map(lambda t: t.encode("utf-16"))),
       st.sampled_from(["data.csv", "DATA.CSV", "data.xlsx", "data.txt", "", "data.csv.exe"]))
@example(b"\x81", "data.csv")  # found: neither UTF-8 nor cp1252 left a variable unset (UnboundLocalError)
@example(b"\r\x01", "data.csv")  # found: a lone CR raised csv.Error
@example(b'NIK,Nama\n1,"' + b"x" * 200_000 + b'"\n', "data.csv")  # beyond the csv module's field limit
def test_read_table_returns_a_table_or_an_import_error(content, name):
    _read(name, content)


def test_csv_with_old_mac_line_ends_is_read():
    assert read_table("mac.csv", b"NIK,Nama\r3174011708859901,Budi\r") == (["NIK", "Nama"],
                                                                          [["3174011708859901", "Budi"]])


excel_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
cell = st.one_of(st.none(), excel_text, st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                 st.dates(date(1900, 3, 1), date(2100, 1, 1)),
                 st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)), st.booleans())


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@settings(FUZZ, max_examples=60)
@given(st.lists(st.lists(cell, max_size=6), max_size=6))
def test_read_table_reads_any_workbook(rows):
    _read("unggah.xlsx", _xlsx(rows))


@settings(FUZZ, max_examples=60)
@given(st.binary(min_size=1, max_size=200), st.integers(0, 4000))
def test_read_table_refuses_damaged_workbooks(garbage, at):
    """A real workbook with bytes overwritten or cut: read or refused, never a crash."""
    content = bytearray(_xlsx([["NIK", "Nama"], ["3174011708859901", "Budi"]]))
    at = at % len(content)
    content[at:at + len(garbage)] = garbage
    _read("rusak.xlsx", bytes(content))


# --- Mapping and checking rows (reads the database: regions, sectors, registered NIKs) ----------

row_text = st.one_of(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40),
                     nik_like.filter(lambda v: v is not None), phone_like.filter(lambda v: v is not None),
                     st.sampled_from(["Manggarai", "31.74.01.1002", "Gambir", "L", "P", "perempuan", "Kuliner",
                                      "Sudah berjalan", "17-08-1985", "31/02/1990", "2099-01-01", "x" * (MAX_CELL + 1)]))


@FUZZ_DB
@given(st.lists(st.lists(row_text, min_size=len(TEMPLATE_HEADERS), max_size=len(TEMPLATE_HEADERS)),
                min_size=1, max_size=8),
       st.dictionaries(st.sampled_from(["nik", "name", "kelurahan", "phone", "birth_date", "gender", "email",
                                        "address", "business_name", "sector", "stage", "registered_on"]),
                       st.sampled_from([str(i) for i in range(len(TEMPLATE_HEADERS))] + [""])))
def test_check_rows_gives_one_result_per_row(app, rows, mapping):
    with app.app_context():
        results = check_rows(TEMPLATE_HEADERS, rows, mapping)
        db.session.rollback()
    assert [r.number for r in results] == list(range(2, len(rows) + 2))
    for result in results:
        assert all(isinstance(e, str) and e for e in result.errors)
        if not result.errors:
            assert re.fullmatch(r"[0-9]{16}", result.values["nik"]) and result.values["kelurahan_id"]


@FUZZ_DB
@given(st.lists(st.lists(row_text, min_size=1, max_size=len(TEMPLATE_HEADERS)), min_size=1, max_size=6),
       st.booleans())
def test_upload_to_preview_pipeline(app, rows, with_template_headers):
    """Bytes of a CSV → table → guessed mapping → checked rows, as the import screens do it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if with_template_headers:
        writer.writerow(TEMPLATE_HEADERS)
    writer.writerows(rows)
    table = _read("impor.csv", buffer.getvalue().encode("utf-8"))
    if table is None:
        return
    headers, data = table
    with app.app_context():
        results = check_rows(headers, data, guess_mapping(headers))
        db.session.rollback()
    assert len(results) == len(data)


# --- Forms and filters over HTTP: any text gets a page or a refusal, never a server error ----------

FUZZ_WEB = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=70)


@FUZZ_WEB
@given(any_text, any_text)
@example("budi\x00", "x")  # found: on PostgreSQL a NUL in the user name was a 500 (DataError)
def test_login_form_answers_any_text(client, username, password):
    token = CSRF_RE.search(client.get("/masuk").get_data(as_text=True)).group(1)
    response = client.post("/masuk", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code in (400, 422), response.status_code


@pytest.fixture
def staff_client(client, login_as, make_participant):
    make_participant(name="Siti Aminah")
    login_as("staff")
    return client


@FUZZ_WEB
@given(st.dictionaries(st.sampled_from(["q", "kelurahan", "step", "channel", "status", "dari", "sampai", "aksi",
                                        "urut", "hal"]), any_text, max_size=5), st.booleans())
@example({"q": "%_\\'\""}, False)
@example({"q": "siti\x00"}, True)
def test_participant_list_answers_any_filter(staff_client, params, fragment):
    headers = {"HX-Request": "true"} if fragment else {}
    response = staff_client.get("/peserta", query_string=params, headers=headers)
    has_nul = any("\x00" in k or "\x00" in v for k, v in params.items())
    assert response.status_code == (400 if has_nul else 200), response.status_code
