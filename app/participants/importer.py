"""Importing registrations from a CSV or XLSX export (old website, Google Form).

Upload → the rows are kept in the database (``import_upload``, a day at most) → the user maps
columns → a preview marks each bad row with its reason → the good rows are imported in one
transaction. A NIK already registered is reported, never duplicated, so a second import of
the same file adds no one. A file is bounded before it is parsed (:class:`ImportLimits`): a zip
bomb is refused from its zip directory, rows are counted as they stream and reading stops at
the first one past the limit.
"""
import csv
import io
import json
import re
import secrets
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select

from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.formatting import angka
from ..core.timeutil import today_wib, utcnow
from ..extensions import db
from ..regions.models import Kecamatan
from .models import STAGES, Participant, ParticipantStep, Sector, name_key
from .services import (Registration, assign_reg_numbers, check_registration, jakarta_kecamatan_prefixes,
                       resolve_kelurahan)

MB = 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 100
MAX_CELL = 2_000
MAX_ROW_CELLS = 2_000
# openpyxl spends 10-40 µs on each cell of the sheet XML, empty or not: 500,000 keep a file under ~20 s.
MAX_CELLS = 500_000

TARGETS = {
    "nik": ("NIK", True),
    "name": ("Nama lengkap", True),
    "kelurahan": ("Kelurahan domisili", True),
    "phone": ("Nomor HP", False),
    "birth_date": ("Tanggal lahir", False),
    "gender": ("Jenis kelamin", False),
    "email": ("Surel", False),
    "address": ("Alamat", False),
    "business_name": ("Nama usaha", False),
    "sector": ("Sektor usaha", False),
    "stage": ("Tahap usaha", False),
    "registered_on": ("Tanggal daftar", False),
    "channel": ("Saluran pendaftaran", False),
    "license_kind": ("Jenis izin usaha (IUMK/NIB/SKU)", False),
    "license_number": ("Nomor izin usaha", False),
    "license_date": ("Tanggal terbit izin", False),
}
SYNONYMS = {
    "nik": {"nik", "noktp", "nomorktp", "nomorindukkependudukan", "ktp"},
    "name": {"nama", "namalengkap", "name", "namapeserta"},
    "kelurahan": {"kelurahan", "kel", "kelurahandomisili"},
    "phone": {"hp", "nohp", "nomorhp", "telepon", "telp", "whatsapp", "wa", "nowa", "phone", "nomorwhatsapp", "nomorhpwhatsapp"},
    "birth_date": {"tanggallahir", "tgllahir", "lahir"},
    "gender": {"jeniskelamin", "jk", "gender", "lp", "kelamin"},
    "email": {"email", "surel", "alamatemail", "alamatsurel"},
    "address": {"alamat", "alamatrumah"},
    "business_name": {"namausaha", "usaha"},
    "sector": {"sektor", "sektorusaha", "bidangusaha", "jenisusaha"},
    "stage": {"tahap", "tahapusaha"},
    "registered_on": {"tanggaldaftar", "tgldaftar", "timestamp", "tanggalpendaftaran"},
    "channel": {"saluran", "saluranpendaftaran", "channel", "caradaftar", "carapendaftaran", "jalurpendaftaran",
                "jalur", "sumberpendaftaran"},
    "license_kind": {"jenisizin", "jenisizinusaha", "izin", "izinusaha", "jenislegalitas", "legalitas", "licence",
                     "license", "licencekind", "licensekind"},
    "license_number": {"nomorizin", "noizin", "nomorizinusaha", "noizinusaha", "nomoriumk", "nomornib",
                       "nomorsku", "nomorlegalitas", "licencenumber", "licensenumber"},
    "license_date": {"tanggalizin", "tglizin", "tanggalterbitizin", "tanggalterbit", "tglterbit",
                     "tanggalizinterbit", "licencedate", "licensedate"},
}
TEMPLATE_HEADERS = ["NIK", "Nama lengkap", "Nomor HP", "Tanggal lahir", "Jenis kelamin", "Surel", "Alamat",
                    "Kelurahan", "Nama usaha", "Sektor usaha", "Tahap usaha", "Tanggal daftar", "Saluran pendaftaran",
                    "Jenis izin", "Nomor izin", "Tanggal izin"]
TEMPLATE_EXAMPLE = ["3171011708859901", "Contoh Nama", "0812-3456-7890", "17-08-1985", "L", "",
                    "Jl. Contoh No. 1 RT 001/RW 002", "Gambir", "Warung Contoh", "Kuliner", "Sudah berjalan", "",
                    "Datang langsung", "", "", ""]


class ImportFileError(DomainError):
    pass


@dataclass(frozen=True)
class ImportLimits:
    """How much one import file may hold. Every bound is checked before the part it guards is parsed,
    or while rows are read (reading stops at the first row past a limit), never after the fact.

    ``unpacked_bytes`` bounds an XLSX's members together by their uncompressed sizes as the zip
    directory states them (Python's zipfile never inflates a member past its stated size: the rest
    fails its CRC), and the text kept from any file. A CSV is not compressed: its decoded text is never
    longer than its bytes, so ``file_bytes`` bounds it.
    """

    file_bytes: int = 10 * MB        # the file as uploaded
    unpacked_bytes: int = 50 * MB    # XLSX members uncompressed, together; the text kept from any file
    ratio: int = 100                 # XLSX: uncompressed / compressed, for a member of RATIO_FLOOR or more
    members: int = 500               # XLSX: files in the zip (a workbook from Excel has about a dozen)
    rows: int = MAX_ROWS             # data rows, the header row not counted
    columns: int = MAX_COLUMNS
    row_cells: int = MAX_ROW_CELLS   # XLSX: cell elements in one row of the sheet XML, empty ones included
    cells: int = MAX_CELLS           # XLSX: cell elements in the whole sheet XML, empty ones included

    @classmethod
    def from_config(cls, config) -> "ImportLimits":
        """The defaults, with IMPORT_MAX_FILE_BYTES, IMPORT_MAX_UNPACKED_BYTES and IMPORT_MAX_ROWS from config."""
        default = cls()
        return cls(file_bytes=int(config.get("IMPORT_MAX_FILE_BYTES", default.file_bytes)),
                   unpacked_bytes=int(config.get("IMPORT_MAX_UNPACKED_BYTES", default.unpacked_bytes)),
                   rows=int(config.get("IMPORT_MAX_ROWS", default.rows)))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()[:MAX_CELL + 1]


def _megabytes(n: int) -> str:
    return f"{angka(round(n / MB, 1))} MB"


def read_table(filename: str, content: bytes, limits: ImportLimits | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the first sheet; ImportFileError with an Indonesian message otherwise.

    Blank rows are skipped and trailing blank cells dropped; every row is padded to the widest one
    (a column without a header is called 'Kolom N')."""
    limits = limits or ImportLimits()
    name = (filename or "").lower()
    if not content:
        raise ImportFileError("Berkas kosong.")
    if len(content) > limits.file_bytes:
        raise ImportFileError(f"Berkas lebih besar dari {_megabytes(limits.file_bytes)}; bagi menjadi beberapa "
                              "berkas lalu impor satu per satu.")
    if name.endswith(".csv"):
        rows = _read_csv(content, limits)
    elif name.endswith(".xlsx"):
        rows = _read_xlsx(content, limits)
    else:
        raise ImportFileError("Berkas harus berformat CSV atau XLSX (Excel).")
    if not rows:
        raise ImportFileError("Berkas kosong: tidak ada judul kolom maupun data.")
    width = max(len(r) for r in rows)
    headers = [h or f"Kolom {i + 1}" for i, h in enumerate(rows[0] + [""] * (width - len(rows[0])))]
    data = rows[1:]
    if not data:
        raise ImportFileError("Berkas hanya berisi judul kolom; tidak ada baris data.")
    return headers, [r + [""] * (width - len(r)) for r in data]


def _too_many_rows(limits: ImportLimits) -> ImportFileError:
    return ImportFileError(f"Berkas berisi lebih dari {angka(limits.rows)} baris data; paling banyak "
                           f"{angka(limits.rows)} baris sekali impor. Bagi menjadi beberapa berkas.")


def _collect(rows: Iterable[Sequence], limits: ImportLimits) -> list[list[str]]:
    """The non-blank rows as text (the header first), read one at a time: the first row past a limit
    (rows, columns, text, or blank rows) ends the reading with ImportFileError; the rest is never read."""
    kept: list[list[str]] = []
    text = scanned = 0
    max_scanned = 5 * (limits.rows + 1)
    for row in rows:
        scanned += 1
        if scanned > max_scanned:
            raise ImportFileError(f"Berkas berisi lebih dari {angka(max_scanned)} baris, termasuk baris kosong. "
                                  "Hapus baris kosong di bawah data, atau bagi menjadi beberapa berkas.")
        if row.count(None) + row.count("") == len(row):
            continue
        width = len(row)
        while width and (row[width - 1] is None or (isinstance(row[width - 1], str) and not row[width - 1].strip())):
            width -= 1
        if width == 0:
            continue
        if width > limits.columns:
            raise ImportFileError(f"Baris {scanned} berisi lebih dari {angka(limits.columns)} kolom; simpan ulang "
                                  "berkas hanya dengan kolom data peserta.")
        cells = [_cell(c) for c in row[:width]]
        if len(kept) > limits.rows:
            raise _too_many_rows(limits)
        text += sum(map(len, cells))
        if text > limits.unpacked_bytes:
            raise ImportFileError(f"Isi berkas lebih dari {_megabytes(limits.unpacked_bytes)} teks; bagi menjadi "
                                  "beberapa berkas.")
        kept.append(cells)
    return kept


def _read_csv(content: bytes, limits: ImportLimits) -> list[list[str]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("Berkas CSV tidak dapat dibaca; simpan ulang sebagai CSV UTF-8.")
    if "\x00" in text:
        raise ImportFileError("Berkas ini bukan CSV teks yang sah.")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:  # newline="": rows may end in \r\n, \n or a lone \r (CSV saved on an old Mac)
        return _collect(csv.reader(io.StringIO(text, newline=""), dialect), limits)
    except csv.Error as err:  # e.g. a field beyond the csv module's size limit
        raise ImportFileError("Berkas CSV tidak dapat dibaca; simpan ulang dari Excel sebagai CSV.") from err


XLSX_UNREADABLE = "Berkas XLSX tidak dapat dibaca; simpan ulang dari Excel sebagai .xlsx."
RATIO_FLOOR = MB
# A start tag of the sheet XML, with or without a namespace prefix: a row, a cell, a cell's value.
_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?(row|c|v|is)(?=[\s/>])")


def _check_zip(content: bytes, limits: ImportLimits) -> None:
    """Refuse an XLSX by its zip directory alone (nothing is inflated): too many members, too large
    together once unpacked, or one member that inflates far more than a spreadsheet does (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except Exception:  # not a zip, or a damaged directory
        raise ImportFileError(XLSX_UNREADABLE) from None
    if len(members) > limits.members:
        raise ImportFileError(f"Berkas XLSX ini berisi {angka(len(members))} bagian; berkas dari Excel hanya "
                              "belasan. Simpan ulang dari Excel sebagai .xlsx.")
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_bytes:
        raise ImportFileError(f"Berkas XLSX ini menjadi {_megabytes(total)} setelah dibuka; paling besar "
                              f"{_megabytes(limits.unpacked_bytes)}. Berkas ini rusak atau terlalu besar: bagi "
                              "menjadi beberapa berkas, atau simpan ulang dari Excel.")
    for member in members:
        if member.file_size >= RATIO_FLOOR and member.file_size > limits.ratio * max(member.compress_size, 1):
            raise ImportFileError(f"Berkas XLSX ini tidak wajar: satu bagiannya memuai "
                                  f"{angka(member.file_size // max(member.compress_size, 1))} kali saat dibuka. "
                                  "Simpan ulang dari Excel sebagai .xlsx.")


def _check_sheet_xml(source, limits: ImportLimits) -> None:
    """Count the sheet XML's rows that hold a value and its cells (per row and in all), streaming it in
    1 MB chunks before any XML is parsed: openpyxl builds a whole row in memory and parses every cell."""
    rows = cells = total = 0
    has_value = False
    pending = b""
    while True:
        chunk = source.read(MB)
        data = pending + chunk
        end = len(data) if not chunk else max(0, len(data) - 64)  # a tag starting before `end` is whole
        for match in _SHEET_TAG.finditer(data):
            if match.start() >= end:
                break
            tag = match.group(1)
            if tag == b"row":
                rows, has_value, cells = rows + has_value, False, 0
            elif tag == b"c":
                cells += 1
                total += 1
                if total > limits.cells:
                    raise ImportFileError(f"Lembar kerja berisi lebih dari {angka(limits.cells)} sel (termasuk sel "
                                          "kosong yang diformat); bagi menjadi beberapa berkas, atau simpan ulang "
                                          "hanya dengan kolom dan baris data peserta.")
                if cells > limits.row_cells:
                    raise ImportFileError(f"Baris ke-{angka(rows + 1)} lembar kerja berisi lebih dari "
                                          f"{angka(limits.row_cells)} sel; simpan ulang berkas hanya dengan "
                                          "kolom data peserta.")
            else:
                has_value = True
        if rows > limits.rows + 1:  # the header row and the data rows
            raise _too_many_rows(limits)
        pending = data[end:]
        if not chunk:
            break
    if rows + has_value > limits.rows + 1:
        raise _too_many_rows(limits)


def _read_xlsx(content: bytes, limits: ImportLimits) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_zip(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise ImportFileError(XLSX_UNREADABLE) from None
    try:
        sheet = workbook.worksheets[0]
        with sheet._get_source() as source:  # the sheet XML as a stream (openpyxl's read-only worksheet)
            _check_sheet_xml(source, limits)
        sheet.reset_dimensions()  # never trust the stated size: cells are padded up to it
        # One column more than allowed, so that a wider row is seen and refused, not cut.
        return _collect(sheet.iter_rows(max_col=limits.columns + 1, values_only=True), limits)
    except ImportFileError:
        raise
    except Exception:  # damage found while reading: bad XML, a member failing its CRC
        raise ImportFileError(XLSX_UNREADABLE) from None
    finally:
        workbook.close()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    mapping = {}
    for index, header in enumerate(headers):
        key = _key(header)
        for target, names in SYNONYMS.items():
            if key in names and target not in mapping:
                mapping[target] = str(index)
    return mapping


# --- Storage of an upload between steps ------------------------------------------------------

def save_upload(user_id: int, kecamatan_id: int, filename: str, headers, rows) -> str:
    """Keep the rows in the database (every app server and the worker read them); the caller commits."""
    from ..jobs.models import ImportUpload

    token = secrets.token_urlsafe(24)
    db.session.add(ImportUpload(token=token, user_id=user_id, kecamatan_id=kecamatan_id, filename=filename[:120],
                                content=json.dumps({"headers": headers, "rows": rows}), created_at=utcnow()))
    return token


def load_upload(token: str, user_id: int) -> dict | None:
    """The upload's rows, for its own user only and for a day; None otherwise."""
    from ..jobs.models import ImportUpload

    if not re.fullmatch(r"[A-Za-z0-9_-]{10,40}", token or ""):
        return None
    upload = db.session.get(ImportUpload, token)
    if upload is None or upload.user_id != user_id or upload.created_at < utcnow() - timedelta(days=1):
        return None
    return {"user_id": upload.user_id, "kecamatan_id": upload.kecamatan_id, "filename": upload.filename,
            **json.loads(upload.content)}


def discard_upload(token: str) -> None:
    """Delete the upload in the current transaction (the import that used it commits)."""
    from ..jobs.models import ImportUpload

    db.session.execute(delete(ImportUpload).where(ImportUpload.token == token))


# --- Checking rows -------------------------------------------------------------------------

GENDER_WORDS = {"l": "L", "lk": "L", "lakilaki": "L", "pria": "L", "p": "P", "pr": "P", "perempuan": "P", "wanita": "P"}
# The channel column: what a spreadsheet says → Participant.channel. An empty cell, or a word for
# "imported / other", keeps the default "import"; any other word is a row error (never guessed).
CHANNEL_WORDS = {
    **dict.fromkeys(["online", "daring", "web", "website", "situs", "googleform", "formulir", "formulironline",
                     "formulirdaring", "internet"], "online"),
    **dict.fromkeys(["walkin", "walkins", "datanglangsung", "langsung", "luring", "offline", "loket", "meja",
                     "tatapmuka"], "walkin"),
    **dict.fromkeys(["import", "impor", "lainnya", "lain", "lainlain", "other", "others"], "import"),
}
CHANNEL_HELP = "isi Daring, Datang langsung, atau Lainnya (atau kosongkan)"


def parse_channel(text: str) -> str:
    """'Daring' → 'online', 'Walk-in' → 'walkin', '' / 'Lainnya' → 'import'; ValueError otherwise."""
    key = _key(text)
    if not key:
        return "import"
    if key not in CHANNEL_WORDS:
        raise ValueError(text)
    return CHANNEL_WORDS[key]


# The licence kind column: what a spreadsheet says → License.kind.
LICENSE_WORDS = {
    **dict.fromkeys(["iumk", "izinusahamikrokecil", "izinusahamikro"], "iumk"),
    **dict.fromkeys(["nib", "nomorindukberusaha", "oss"], "nib"),
    **dict.fromkeys(["sku", "suratketeranganusaha", "keteranganusaha"], "sku"),
}
LICENSE_HELP = "isi IUMK, NIB atau SKU"


def parse_license_kind(text: str) -> str:
    """'IUMK' → 'iumk', 'NIB (OSS)' → 'nib', 'Surat Keterangan Usaha' → 'sku'; ValueError otherwise."""
    key = _key(text)
    for word, kind in LICENSE_WORDS.items():
        if key == word or (key.startswith(word) and word in ("iumk", "nib", "sku")):
            return kind
    raise ValueError(text)


@dataclass(frozen=True)
class ImportedLicense:
    kind: str
    number: str
    issued_on: date


STAGE_WORDS = {**{_key(k): k for k in STAGES}, **{_key(v): k for k, v in STAGES.items()}, "berjalan": "berjalan"}


def parse_date(text: str) -> date | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class RowResult:
    number: int  # row number in the file (header is row 1)
    values: dict
    errors: list[str] = field(default_factory=list)
    registered_on: date | None = None
    channel: str = "import"
    license: ImportedLicense | None = None


def check_rows(headers, rows, mapping: dict[str, str]) -> list[RowResult]:
    prefixes = jakarta_kecamatan_prefixes()
    sectors = {**{_key(s.name): s.id for s in db.session.scalars(select(Sector))},
               **{_key(s.code): s.id for s in db.session.scalars(select(Sector))}}
    default_sector = sectors.get("lainnya")
    kel_cache: dict[str, int | None] = {}
    results: list[RowResult] = []
    seen_nik: dict[str, int] = {}

    def get(row, target):
        index = mapping.get(target)
        return row[int(index)] if index not in (None, "") else ""

    for offset, row in enumerate(rows):
        number = offset + 2
        errors: list[str] = []
        if any(len(c) > MAX_CELL for c in row):
            results.append(RowResult(number, {"nik": get(row, "nik")[:20], "name": get(row, "name")[:60]},
                                     [f"Ada isian lebih dari {MAX_CELL} karakter."]))
            continue
        birth = None
        if get(row, "birth_date"):
            try:
                birth = parse_date(get(row, "birth_date"))
            except ValueError:
                errors.append("Tanggal lahir tidak terbaca (pakai hari-bulan-tahun, mis. 17-08-1985).")
        gender = None
        if get(row, "gender"):
            gender = GENDER_WORDS.get(_key(get(row, "gender")))
            if gender is None:
                errors.append("Jenis kelamin harus L atau P.")
        stage = "ide"
        if get(row, "stage"):
            stage = STAGE_WORDS.get(_key(get(row, "stage")))
            if stage is None:
                errors.append("Tahap usaha harus Ide, Baru mulai atau Sudah berjalan.")
        sector_id = default_sector
        if get(row, "sector"):
            sector_id = sectors.get(_key(get(row, "sector")))
            if sector_id is None:
                errors.append(f"Sektor usaha '{get(row, 'sector')[:40]}' tidak dikenal.")
        registered_on = None
        if get(row, "registered_on"):
            try:
                registered_on = parse_date(get(row, "registered_on"))
            except ValueError:
                errors.append("Tanggal daftar tidak terbaca (pakai hari-bulan-tahun, mis. 07-01-2018).")
        channel = "import"
        if get(row, "channel"):
            try:
                channel = parse_channel(get(row, "channel"))
            except ValueError:
                errors.append(f"Saluran pendaftaran '{get(row, 'channel')[:40]}' tidak dikenal; {CHANNEL_HELP}.")
        license_ = _check_license(get(row, "license_kind"), get(row, "license_number"), get(row, "license_date"),
                                  registered_on, errors)
        reg = Registration(nik=get(row, "nik"), name=get(row, "name"), birth_date=birth, gender=gender,
                           phone=get(row, "phone"), email=get(row, "email"), address=get(row, "address"),
                           kelurahan=get(row, "kelurahan"), business_name=get(row, "business_name"),
                           sector_id=sector_id, stage=stage or "ide", phone_required=False)
        future = registered_on is not None and registered_on > today_wib()
        checked = check_registration(reg, prefixes, registered_on=None if future else registered_on)
        errors += list(checked.errors.values())
        kel_value = reg.kelurahan.strip()
        if kel_value not in kel_cache:
            found = resolve_kelurahan(kel_value)
            kel_cache[kel_value] = found.id if found else None
        if kel_cache[kel_value] is None:
            errors.append("Kelurahan kosong atau tidak dikenal." if kel_value else "Kelurahan wajib diisi.")
        checked.values["kelurahan_id"] = kel_cache[kel_value]
        nik = checked.values["nik"]
        if "nik" not in checked.errors:
            if nik in seen_nik:
                errors.append(f"NIK sama dengan baris {seen_nik[nik]} di berkas ini.")
            else:
                seen_nik[nik] = number
        if future:
            errors.append("Tanggal daftar di masa depan.")
        results.append(RowResult(number, checked.values, errors, registered_on, channel, license_))
    _check_license_numbers(results)

    # NIKs already registered, looked up in chunks (one query per 1,000 rows).
    niks = [r.values["nik"] for r in results if not r.errors]
    taken: set[str] = set()
    for start in range(0, len(niks), 1000):
        chunk = niks[start:start + 1000]
        taken.update(db.session.scalars(select(Participant.nik).where(Participant.nik.in_(chunk))))
    for result in results:
        if not result.errors and result.values["nik"] in taken:
            result.errors.append("NIK sudah terdaftar; baris dilewati (tidak didaftarkan dua kali).")
    return results


def _check_license(kind_text: str, number: str, date_text: str, registered_on: date | None,
                   errors: list[str]) -> ImportedLicense | None:
    """The row's licence (all three cells, or none), checked as the licence form checks one: a known
    kind, a valid number (NIB: 13 digits), a date neither in the future nor before the registration."""
    from ..core.idnumbers import check_nib

    if not (kind_text or number or date_text):
        return None
    found = len(errors)
    kind = None
    if not kind_text:
        errors.append(f"Jenis izin kosong padahal nomor atau tanggal izin diisi; {LICENSE_HELP}.")
    else:
        try:
            kind = parse_license_kind(kind_text)
        except ValueError:
            errors.append(f"Jenis izin '{kind_text[:40]}' tidak dikenal; {LICENSE_HELP}.")
    number = (number or "").strip()
    if not number:
        errors.append("Nomor izin kosong padahal jenis atau tanggal izin diisi.")
    elif kind == "nib":
        number, error = check_nib(number)
        if error:
            errors.append(f"Nomor izin: {error}")
    elif len(number) > 80:
        errors.append("Nomor izin paling banyak 80 karakter.")
    issued_on = None
    if not date_text:
        errors.append("Tanggal izin kosong padahal jenis atau nomor izin diisi.")
    else:
        try:
            issued_on = parse_date(date_text)
        except ValueError:
            errors.append("Tanggal izin tidak terbaca (pakai hari-bulan-tahun, mis. 07-09-2018).")
    if issued_on is not None:
        registered = registered_on or today_wib()
        if issued_on > today_wib():
            errors.append("Tanggal izin di masa depan.")
        elif issued_on < registered:
            errors.append(f"Tanggal izin ({issued_on.day}-{issued_on.month:02d}-{issued_on.year}) sebelum tanggal "
                          f"daftar ({registered.day}-{registered.month:02d}-{registered.year}); izin tidak boleh "
                          "bertanggal sebelum pendaftaran.")
    if len(errors) > found:
        return None
    from .services import _missing, program_mode, step_order_message

    if program_mode() == "berurutan":  # an imported participant has only P1
        errors.append(step_order_message(_missing({1}, 4), 4, "izinnya belum dapat dicatat dari berkas impor"))
        return None
    return ImportedLicense(kind, number, issued_on)


def _license_key(license_: ImportedLicense, kelurahan_id: int | None) -> str:
    from ..licensing.services import number_key

    return number_key(license_.kind, license_.number, kelurahan_id if license_.kind == "sku" else None)


def _check_license_numbers(results: list[RowResult]) -> None:
    """A licence number twice in the file, or already recorded: the row is refused (one query per 1,000)."""
    from ..licensing.models import License

    keys: dict[str, int] = {}
    for result in results:
        if result.license is None or result.errors:
            continue
        key = _license_key(result.license, result.values.get("kelurahan_id"))
        if key in keys:
            result.errors.append(f"Nomor izin sama dengan baris {keys[key]} di berkas ini.")
        else:
            keys[key] = result.number
    wanted = list(keys)
    taken: set[str] = set()
    for start in range(0, len(wanted), 1000):
        taken.update(db.session.scalars(select(License.number_key).where(
            License.number_key.in_(wanted[start:start + 1000]))))
    for result in results:
        if result.license is not None and not result.errors and \
                _license_key(result.license, result.values.get("kelurahan_id")) in taken:
            result.errors.append("Nomor izin ini sudah tercatat untuk peserta lain atau sebelumnya.")


IMPORT_CHUNK = 1000


def import_rows(results: list[RowResult], kecamatan: Kecamatan, user_id: int, filename: str,
                progress=None) -> list[Participant]:
    """Insert every good row in the current transaction (the caller commits once), 1,000 rows at a
    time; ``progress(done, total)`` is told after each thousand (the background import's bar)."""
    good = [r for r in results if not r.errors]
    if not good:
        return []
    participants: list[Participant] = []
    for start in range(0, len(good), IMPORT_CHUNK):
        chunk = good[start:start + IMPORT_CHUNK]
        participants += _import_chunk(chunk, kecamatan, user_id, filename)
        if progress is not None:
            progress(start + len(chunk), len(good))
    return participants


def _import_chunk(good: list[RowResult], kecamatan: Kecamatan, user_id: int, filename: str) -> list[Participant]:
    now = utcnow()
    participants = []
    for result in good:
        values = {k: v for k, v in result.values.items() if not k.startswith("_")}
        registered_at = datetime.combine(result.registered_on, datetime.min.time()) if result.registered_on else now
        participants.append(Participant(**values, name_key=name_key(values["name"]), kecamatan_id=kecamatan.id,
                                        channel=result.channel, status="active", registered_by_id=user_id,
                                        registered_at=registered_at, verified_at=now))
    db.session.add_all(participants)
    assign_reg_numbers(participants, kecamatan, [r.registered_on for r in good])
    db.session.flush()
    today = today_wib()
    db.session.execute(insert(ParticipantStep), [
        {"participant_id": p.id, "step": 1, "completed_on": r.registered_on or today, "kecamatan_id": kecamatan.id,
         "source": "import", "source_id": p.id, "out_of_order": False, "recorded_at": now, "variant": p.channel}
        for p, r in zip(participants, good)])
    db.session.execute(insert(AuditLog), [
        {"at": now, "user_id": user_id, "action": "participant.import", "entity_type": "participant",
         "entity_id": p.id, "kecamatan_id": kecamatan.id, "summary": f"Impor dari {filename[:80]}",
         "changes": {"reg_number": {"before": None, "after": p.reg_number}}} for p in participants])
    _record_licenses(participants, good, user_id)
    return participants


def _record_licenses(participants: list[Participant], good: list[RowResult], user_id: int) -> None:
    """Each row's licence through the licensing service, so P4, its tallies and the audit follow as for
    a licence recorded by hand. An SKU is taken as issued by the participant's own kelurahan. A refusal
    here (a number recorded meanwhile by another desk) ends the whole import: nothing is half-saved."""
    from ..auth.models import User
    from ..licensing.services import record_license

    user = db.session.get(User, user_id)
    for participant, result in zip(participants, good):
        if result.license is None:
            continue
        db.session.expire(participant, ["steps"])
        record_license(participant, result.license.kind, result.license.number, result.license.issued_on,
                       participant.kelurahan_id if result.license.kind == "sku" else None, user)


def apply_import(token: str, payload: dict, kecamatan: Kecamatan, mapping: dict[str, str], user_id: int,
                 progress=None) -> tuple[int, list[RowResult]]:
    """The import's commit step, in a request or in the worker: check the rows again, insert the good
    ones, audit the file and delete its upload, all in the current transaction (the caller commits;
    a DomainError leaves nothing). Returns (participants created, rows skipped)."""
    from ..core import audit

    results = check_rows(payload["headers"], payload["rows"], mapping)
    created = import_rows(results, kecamatan, user_id, payload["filename"], progress)
    skipped = [r for r in results if r.errors]
    audit.record("participant.import_file", entity_type="import", kecamatan_id=kecamatan.id, user_id=user_id,
                 summary=f"Impor {payload['filename'][:80]}: {len(created)} baru, {len(skipped)} dilewati",
                 changes={"created": {"before": None, "after": len(created)},
                          "skipped": {"before": None, "after": len(skipped)}})
    discard_upload(token)
    return len(created), skipped
