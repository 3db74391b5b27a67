"""Loading and looking up regions."""
import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.scoping import Scope, current_scope, get_or_404, scoped
from ..extensions import db
from .models import Kecamatan, Kelurahan, Kota

DATA_FILE = Path(__file__).parent / "data" / "jakarta_wilayah.csv"


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _upsert(existing: dict, model, code: str, values: dict, result: LoadResult):
    obj = existing.get(code)
    if obj is None:
        obj = model(code=code, **values)
        db.session.add(obj)
        existing[code] = obj
        result.created += 1
        return obj
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1
    return obj


def load_regions(path: Path = DATA_FILE) -> LoadResult:
    """Insert or update every kota, kecamatan and kelurahan from the CSV; idempotent by code."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = LoadResult()
    kota_by_code = {k.code: k for k in db.session.scalars(select(Kota))}
    kec_by_code = {k.code: k for k in db.session.scalars(select(Kecamatan))}
    kel_by_code = {k.code: k for k in db.session.scalars(select(Kelurahan))}
    seen_kota: set[str] = set()
    seen_kec: set[str] = set()
    for row in rows:
        if row["kode_kota"] not in seen_kota:
            seen_kota.add(row["kode_kota"])
            _upsert(kota_by_code, Kota, row["kode_kota"], {"name": row["kota"]}, result)
        if row["kode_kecamatan"] not in seen_kec:
            seen_kec.add(row["kode_kecamatan"])
            kota = kota_by_code[row["kode_kota"]]
            db.session.flush()
            _upsert(kec_by_code, Kecamatan, row["kode_kecamatan"], {
                "name": row["kecamatan"],
                "kota_id": kota.id,
                "nik_prefix": row["kode_kecamatan"].replace(".", ""),
            }, result)
        kec = kec_by_code[row["kode_kecamatan"]]
        db.session.flush()
        _upsert(kel_by_code, Kelurahan, row["kode_kelurahan"],
                {"name": row["kelurahan"], "kecamatan_id": kec.id}, result)
    db.session.flush()
    return result


def kecamatan_choices(scope: Scope | None = None) -> list[tuple[int, str]]:
    """(id, 'Tebet — Jakarta Selatan') for the kecamatan the scope covers, by code."""
    stmt = scoped(select(Kecamatan).options(joinedload(Kecamatan.kota)).order_by(Kecamatan.code), Kecamatan, scope)
    return [(k.id, f"{k.name} — {k.kota.short_name}") for k in db.session.scalars(stmt)]


def acting_kecamatan(chosen) -> Kecamatan | None:
    """The kecamatan a user registers or organises for: their own; or, for a user who covers several
    (a Sudin, the Dinas), the one they chose (``chosen``: a form's id value, 404 outside their region).
    None when they cover several and chose none."""
    scope = current_scope()
    if scope.kecamatan_id:
        return db.session.get(Kecamatan, scope.kecamatan_id)
    if chosen and str(chosen).isdigit():
        return get_or_404(Kecamatan, chosen)
    return None
