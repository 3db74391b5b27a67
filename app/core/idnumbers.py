"""Indonesian identity numbers: NIK, mobile numbers, NIB (rules in shared/data/ID_RULES.md).

Pure functions, no database: the caller supplies the known kecamatan codes when it wants
the region check.
"""
import re
from dataclasses import dataclass, field
from datetime import date

PROVINCES = {
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36",
    "51", "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82",
    "91", "92", "93", "94", "95", "96",
}
JAKARTA = "31"
_SEPARATORS = re.compile(r"[\s.\-]")
PHONE_RE = re.compile(r"^\+628[1-35-9][0-9]{7,10}$")  # ASCII digits: \d would take other scripts' digits


@dataclass
class NikInfo:
    """The outcome of checking a NIK: ``error`` (hard, reject) or the facts it carries."""

    nik: str
    error: str | None = None
    gender: str | None = None  # "L" (laki-laki) or "P" (perempuan)
    day: int | None = None
    month: int | None = None
    yy: int | None = None
    kecamatan_prefix: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def is_jakarta(self) -> bool:
        return self.nik.startswith(JAKARTA)

    def birth_date(self, today: date) -> date | None:
        """The most recent birth date the NIK allows that is not in the future."""
        if not self.valid:
            return None
        for century in (2000, 1900):
            try:
                candidate = date(century + self.yy, self.month, self.day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate
        return None

    def matches(self, birth: date, gender: str | None = None) -> bool:
        same_date = (birth.day, birth.month, birth.year % 100) == (self.day, self.month, self.yy)
        return same_date and (gender is None or gender == self.gender)


def clean_nik(raw: str | None) -> str:
    return _SEPARATORS.sub("", raw or "")


def _date_exists(yy: int, month: int, day: int) -> bool:
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def check_nik(raw: str | None, jakarta_kecamatan: set[str] | None = None) -> NikInfo:
    """Hard checks of ID_RULES §1.3; a Jakarta NIK must also carry a known kecamatan code."""
    nik = clean_nik(raw)
    info = NikInfo(nik=nik)
    if not nik:
        info.error = "NIK wajib diisi."
        return info
    if not nik.isdigit() or not nik.isascii():
        info.error = "NIK hanya boleh berisi angka."
        return info
    if len(nik) != 16:
        info.error = f"NIK harus 16 angka (yang diisi {len(nik)} angka)."
        return info
    if nik[:2] not in PROVINCES:
        info.error = f"Kode provinsi {nik[:2]} pada NIK tidak dikenal."
        return info
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if 1 <= day <= 31:
        info.gender = "L"
    elif 41 <= day <= 71:
        info.gender = "P"
        day -= 40
    else:
        info.error = "Tanggal lahir pada NIK tidak mungkin (angka ke-7 dan ke-8)."
        return info
    if not 1 <= month <= 12:
        info.error = "Bulan lahir pada NIK tidak mungkin (angka ke-9 dan ke-10)."
        return info
    if not _date_exists(yy, month, day):
        info.error = "Tanggal lahir pada NIK tidak ada di kalender."
        return info
    if nik[12:] == "0000":
        info.error = "Nomor urut NIK tidak boleh 0000."
        return info
    info.day, info.month, info.yy = day, month, yy
    info.kecamatan_prefix = nik[:6]
    if info.is_jakarta:
        if jakarta_kecamatan is not None and nik[:6] not in jakarta_kecamatan:
            info.error = f"Kode wilayah {nik[:2]}.{nik[2:4]}.{nik[4:6]} pada NIK bukan kecamatan di DKI Jakarta."
            return info
    else:
        info.notes.append("NIK terbit di luar DKI Jakarta. Tetap boleh didaftarkan; pastikan alamat domisili di Jakarta.")
    return info


def normalize_phone(raw: str | None) -> str | None:
    """E.164 '+628…' for an Indonesian mobile number, or None when it is not one."""
    if not raw:
        return None
    value = re.sub(r"[\s\-.()]", "", raw.replace("(0)", ""))
    if value.startswith("+62"):
        rest = value[3:]
    elif value.startswith("62"):
        rest = value[2:]
    elif value.startswith("0"):
        rest = value[1:]
    elif value.startswith("8"):
        rest = value
    else:
        return None
    if rest.startswith("0"):
        rest = rest[1:]
    phone = "+62" + rest
    return phone if PHONE_RE.match(phone) else None


def phone_error(raw: str | None) -> str | None:
    """An Indonesian message explaining why ``raw`` is not a usable WhatsApp number."""
    digits = re.sub(r"\D", "", raw or "")
    if re.search(r"[A-Za-z]", raw or ""):
        return "Nomor HP hanya boleh berisi angka (boleh diawali +)."
    if digits.startswith("021") or digits.startswith("6221"):
        return "Ini nomor telepon rumah/kantor; isi nomor HP (WhatsApp) yang diawali 08."
    if len(digits) < 10:
        return "Nomor HP terlalu pendek: nomor HP Indonesia 10–13 angka, mis. 0812-3456-7890."
    if len(digits) > 14:
        return "Nomor HP terlalu panjang: nomor HP Indonesia 10–13 angka, mis. 0812-3456-7890."
    return "Bukan nomor HP Indonesia yang sah; contoh: 0812-3456-7890 atau +62 812-3456-7890."


def whatsapp_number(phone: str) -> str:
    """'6281234567890' for wa.me links, from E.164."""
    return phone.lstrip("+")


NIB_RE = re.compile(r"^\d{13}$")


def check_nib(raw: str | None) -> tuple[str | None, str | None]:
    """(normalised NIB, error). 13 digits, kept as text."""
    value = re.sub(r"[\s.\-]", "", raw or "")
    if not value:
        return None, "NIB wajib diisi."
    if not value.isdigit() or not value.isascii():
        return None, "NIB hanya boleh berisi angka."
    if len(value) != 13:
        return None, f"NIB harus 13 angka (yang diisi {len(value)} angka)."
    return value, None
