import csv
from datetime import date
from pathlib import Path

import pytest

from app.core.idnumbers import check_nib, check_nik, normalize_phone

VECTORS = Path(__file__).parent / "data" / "nik_vectors.csv"
with open(Path(__file__).resolve().parents[1] / "app/regions/data/jakarta_wilayah.csv", encoding="utf-8") as _f:
    JAKARTA_KECAMATAN = {row["kode_kecamatan"].replace(".", "") for row in csv.DictReader(_f)}


def vectors():
    with open(VECTORS, encoding="utf-8") as handle:
        return [(r["nik"], r["valid"] == "true", r["reason"]) for r in csv.DictReader(handle)]


@pytest.mark.parametrize("nik,valid,reason", vectors())
def test_nik_vectors(nik, valid, reason):
    info = check_nik(nik, JAKARTA_KECAMATAN)
    assert info.valid is valid, f"{nik}: {reason} -> {info.error}"
    if not valid:
        assert info.error


def test_nik_facts():
    info = check_nik("3171064503909902", JAKARTA_KECAMATAN)
    assert info.gender == "P" and info.birth_date(date(2026, 11, 23)) == date(1990, 3, 5)
    leap = check_nik("3172042902009903", JAKARTA_KECAMATAN)
    assert leap.birth_date(date(2026, 11, 23)) == date(2000, 2, 29)
    young = check_nik("3174096104039906", JAKARTA_KECAMATAN)
    assert young.birth_date(date(2026, 11, 23)) == date(2003, 4, 21)
    assert check_nik("3171011708859901").matches(date(1985, 8, 17), "L")
    assert not check_nik("3171011708859901").matches(date(1985, 8, 18), "L")


@pytest.mark.parametrize("raw,message", [
    ("3171 0117 0885 9901", None),
    ("3171-0117-0885-9901", None),
    ("3171.0117.0885.9901", None),
    ("31710117O8859901", "hanya boleh berisi angka"),
    ("317101170885990", "16 angka (yang diisi 15 angka)"),
    ("31710117088599011", "16 angka (yang diisi 17 angka)"),
    ("3171013208859901", "tidak mungkin"),
    ("3171017208859901", "tidak mungkin"),
    ("3171017002959908", "tidak ada di kalender"),
    ("3176011708859901", "bukan kecamatan di DKI Jakarta"),
    ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", "hanya boleh berisi angka"),
])
def test_nik_bad_input(raw, message):
    info = check_nik(raw, JAKARTA_KECAMATAN)
    if message is None:
        assert info.valid and info.nik == "3171011708859901"
    else:
        assert message in info.error


def test_non_jakarta_nik_is_allowed_with_a_note():
    info = check_nik("3201011708859901", JAKARTA_KECAMATAN)
    assert info.valid and "luar DKI Jakarta" in info.notes[0]


@pytest.mark.parametrize("raw,expected", [
    ("081234567890", "+6281234567890"),
    ("0812-3456-7890", "+6281234567890"),
    ("0812 3456 7890", "+6281234567890"),
    ("+62 812-3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"),
    ("+62 (0) 812 3456 7890", "+6281234567890"),
    ("+620812345678", "+62812345678"),
    ("81234567890", "+6281234567890"),
    ("0812345", None),
    ("08123456789012345", None),
    ("0841234567890", None),
    ("0215551234", None),
    ("", None),
    ("abc", None),
])
def test_phone_normalisation(raw, expected):
    assert normalize_phone(raw) == expected


def test_nib():
    assert check_nib("1234567890123") == ("1234567890123", None)
    assert check_nib("0123 4567 89012")[0] == "0123456789012"
    assert "13 angka" in check_nib("123456789012")[1]
    assert "angka" in check_nib("12345678901AB")[1]
