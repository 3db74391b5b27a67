"""Indonesian formatting for screens and documents, from Babel's ``id`` locale data."""
from datetime import date, datetime

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from .timeutil import to_wib

LOCALE = "id"
MASK = "\u2022"  # bullet


def tanggal(value: date | datetime | None, weekday: bool = False) -> str:
    """'22 November 2026', or 'Minggu, 22 November 2026' with ``weekday``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, "EEEE, d MMMM y" if weekday else "d MMMM y", locale=LOCALE)


def tanggal_isian(value: date | str | None) -> str:
    """A date field's value in words ('7 Desember 1993'); a value given as text ('1993-12-07', from a
    query string) is read as an ISO date; empty or unreadable gives ''."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            return ""
    if not isinstance(value, date):
        return ""
    return tanggal(value)


def tanggal_pendek(value: date | datetime | None) -> str:
    """'14 Nov 2026' for dense tables."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, "d MMM y", locale=LOCALE)


def tanggal_jam(value: datetime | None) -> str:
    """'22 November 2026 14.05' in WIB."""
    if value is None:
        return ""
    return format_datetime(to_wib(value), "d MMMM y HH.mm", locale=LOCALE)


def angka(value: int | float | None) -> str:
    """'9.468'; decimals with a comma."""
    if value is None:
        return ""
    return format_decimal(value, locale=LOCALE)


def persen(value: float | None) -> str:
    """A share as '45,3%' ('–' when there is nothing to divide by)."""
    if value is None:
        return "–"
    return format_percent(value, format="#,##0.0%", locale=LOCALE)


def rupiah(value: int | float | None) -> str:
    """'Rp 1.500.000' (whole rupiah)."""
    if value is None:
        return ""
    return format_currency(round(value), "IDR", format="¤ #,##0", locale=LOCALE, currency_digits=False)


def mask_nik(nik: str | None) -> str:
    """'3171••••••••0001': region prefix and serial stay, the birth date is hidden."""
    if not nik:
        return ""
    if len(nik) <= 8:
        return MASK * len(nik)
    return nik[:4] + MASK * (len(nik) - 8) + nik[-4:]


def mask_phone(phone: str | None) -> str:
    """'+62812••••7890': operator prefix and last four digits."""
    if not phone:
        return ""
    if len(phone) <= 9:
        return MASK * len(phone)
    return phone[:6] + MASK * (len(phone) - 10) + phone[-4:]


def sisa_waktu(seconds: float | None) -> str:
    """A time left as people say it: '10 detik', '3 menit', '1 jam 5 menit'."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{max(seconds, 1)} detik"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} menit"
    return f"{minutes // 60} jam" + (f" {minutes % 60} menit" if minutes % 60 else "")


FILTERS = {
    "sisa_waktu": sisa_waktu,
    "tanggal": tanggal,
    "tanggal_pendek": tanggal_pendek,
    "tanggal_isian": tanggal_isian,
    "tanggal_jam": tanggal_jam,
    "angka": angka,
    "rupiah": rupiah,
    "persen": persen,
    "mask_nik": mask_nik,
    "mask_phone": mask_phone,
}
