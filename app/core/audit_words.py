"""Audit entries in words: Indonesian labels and before → after values for every record kind.

One label map per record kind (``LABELS``, keyed by the entry's ``entity_type``); a field that holds a
foreign key (``kelurahan_id``, ``sector_id``, ``pendamping_id`` …) is shown by the name of the row it
points to. Those names are collected over all entries first and loaded with one query per target table,
never one per entry. Fields without a label are internal (sort keys, bit masks) and are not shown.
"""
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, or_, select

from ..extensions import db
from .formatting import angka, rupiah, tanggal, tanggal_jam

_PARTICIPANT = {
    "reg_number": "No. pendaftaran", "nik": "NIK", "name": "Nama", "gender": "Jenis kelamin",
    "birth_date": "Tanggal lahir", "phone": "Nomor HP", "email": "Surel", "address": "Alamat",
    "kelurahan_id": "Kelurahan", "kecamatan_id": "Kecamatan", "business_name": "Nama usaha",
    "sector_id": "Sektor", "stage": "Tahap usaha", "channel": "Jalur pendaftaran", "status": "Status",
    "rejection_reason": "Alasan penolakan", "merged_into_id": "Digabung ke", "registered_by_id": "Didaftarkan oleh",
    "pendamping_id": "Pendamping", "registered_at": "Waktu pendaftaran", "verified_at": "Waktu verifikasi",
}

LABELS: dict[str, dict[str, str]] = {
    "participant": _PARTICIPANT,
    "enrollment": {"participant_id": "Peserta", "course_id": "Pelatihan", "completed_on": "Lulus pada"},
    "attendance": {"status": "Kehadiran", "meeting": "Pertemuan ke"},
    "certificate": {"number": "Nomor sertifikat", "course_id": "Pelatihan"},
    "license": {"kind": "Jenis izin", "number": "Nomor izin", "issued_on": "Tanggal terbit", "kelurahan_id": "Kelurahan"},
    "sku_letter": {"number": "Nomor surat", "status": "Status surat", "reason": "Alasan", "cancel_reason": "Alasan",
                   "letter_date": "Tanggal surat"},
    "signup": {"status": "Status pendaftaran", "booth": "Stan", "attended": "Hadir", "cancel_reason": "Alasan batal",
               "event_id": "Acara", "queue_rank": "Urutan tunggu"},
    "visit": {"visit_date": "Tanggal kunjungan", "topic": "Topik", "notes": "Catatan", "next_step": "Langkah berikutnya",
              "follow_up_on": "Tindak lanjut", "pendamping_id": "Pendamping"},
    "financial_report": {"month": "Bulan", "revenue": "Omzet", "costs": "Biaya", "employees": "Tenaga kerja",
                         "note": "Catatan"},
    "capital_application": {"institution": "Lembaga", "product": "Produk", "amount": "Nilai", "status": "Status",
                            "referred_on": "Tanggal rujukan", "applied_on": "Tanggal pengajuan",
                            "decided_on": "Tanggal keputusan"},
    "course": {"title": "Judul", "topic": "Topik", "facilitator_id": "Fasilitator", "min_meetings": "Minimal pertemuan"},
    "meeting": {"date": "Tanggal", "venue": "Tempat", "capacity": "Kapasitas", "closed_at": "Ditutup"},
    "event": {"name": "Nama acara", "venue": "Tempat", "starts_on": "Mulai", "ends_on": "Selesai", "booths": "Jumlah stan",
              "signup_opens": "Pendaftaran dibuka", "signup_closes": "Pendaftaran ditutup", "kind": "Jenis"},
    "app_user": {"username": "Nama pengguna", "full_name": "Nama lengkap", "role": "Peran", "active": "Aktif",
                 "kecamatan_id": "Kecamatan", "kota_id": "Kota", "password_hash": "Kata sandi"},
    "sector": {"name": "Nama sektor", "code": "Kode", "active": "Aktif"},
}

KINDS = {
    "participant": "Data peserta", "enrollment": "Pelatihan", "attendance": "Kehadiran", "certificate": "Sertifikat",
    "license": "Izin usaha", "sku_letter": "Surat pengantar SKU", "signup": "Pendaftaran acara",
    "visit": "Kunjungan pendampingan", "financial_report": "Laporan keuangan", "capital_application": "Permodalan",
    "course": "Pelatihan", "meeting": "Pertemuan", "event": "Acara", "app_user": "Pengguna", "sector": "Sektor",
}

MONEY = {("financial_report", "revenue"), ("financial_report", "costs"), ("capital_application", "amount")}
MONTHS = {("financial_report", "month")}
# Columns whose name is not the target table's name plus "_id".
FK_TARGETS = {"registered_by_id": "app_user", "pendamping_id": "app_user", "facilitator_id": "app_user",
              "merged_into_id": "participant"}
NAME_COLUMNS = ("name", "full_name", "title")


# Coded values in words: each domain registers its own label maps (their one home) with
# label_values() from its models module, so core needs no import of the domains above it.
VALUE_LABELS: dict[tuple[str, str], dict] = {}


def label_values(table: str, column: str, labels: dict) -> None:
    VALUE_LABELS[(table, column)] = labels


def _value_labels() -> dict[tuple[str, str], dict]:
    return VALUE_LABELS


def _target(field: str) -> str | None:
    if field in FK_TARGETS:
        return FK_TARGETS[field]
    if field.endswith("_id") and field[:-3] in db.metadata.tables:
        return field[:-3]
    return None


def _names(wanted: dict[str, set]) -> dict[str, dict]:
    """One query per target table: id → name."""
    result = {}
    for table_name, ids in wanted.items():
        table = db.metadata.tables[table_name]
        column = next((table.c[c] for c in NAME_COLUMNS if c in table.c), None)
        ids = {i for i in ids if isinstance(i, int)}
        if column is None or not ids:
            continue
        result[table_name] = dict(db.session.execute(select(table.c.id, column).where(table.c.id.in_(ids))).all())
    return result


def _text(kind: str, field: str, value, names: dict, values: dict) -> str:
    if value is None or value == "":
        return "—"
    if (target := _target(field)) is not None:
        return str(names.get(target, {}).get(value, f"#{value}"))
    if (kind, field) in values:
        return str(values[(kind, field)].get(value, value))
    if (kind, field) in MONEY:
        try:
            return rupiah(int(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return " ".join(tanggal(day).split()[1:]) if (kind, field) in MONTHS else tanggal(day)
            return tanggal_jam(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, int):
        return angka(value)
    return str(value)


def worded(entries) -> list[dict]:
    """Each entry with ``kind`` (the record kind in words) and ``changes``: (label, before, after) in words."""
    wanted: dict[str, set] = defaultdict(set)
    for entry in entries:
        for field, pair in (entry.changes or {}).items():
            if (target := _target(field)) and isinstance(pair, dict):
                wanted[target].update(v for v in (pair.get("before"), pair.get("after")) if v is not None)
    names, values = _names(wanted), _value_labels()
    result = []
    for entry in entries:
        labels = LABELS.get(entry.entity_type, {})
        changes = []
        for field, pair in (entry.changes or {}).items():
            label = labels.get(field) or _PARTICIPANT.get(field)
            if label is None or not isinstance(pair, dict):
                continue
            changes.append((label, _text(entry.entity_type, field, pair.get("before"), names, values),
                            _text(entry.entity_type, field, pair.get("after"), names, values)))
        result.append({"entry": entry, "kind": KINDS.get(entry.entity_type, "Lainnya"), "changes": changes})
    return result


def participant_history(participant_id: int, limit: int = 100):
    """Audit entries about one participant: their own record and every record that belongs to them
    (any table with a ``participant_id``; attendance is logged against the enrolment). The caller has
    already passed the participant through the scope (``get_or_404``), so the entries are theirs to see.

    The records' ids are read first (one query), so that each kind's entries are then found by the
    audit log's (entity type, entity id) index; asked in one query with a subquery per kind, the
    database read every entry of a kind (all attendance entries of the province) to test each."""
    from sqlalchemy import literal, union_all
    from sqlalchemy.orm import joinedload

    from .audit import AuditLog

    tables = [t for t in db.metadata.tables.values() if "participant_id" in t.c and "id" in t.c]
    owned = union_all(*[select(literal(t.name).label("kind"), t.c.id).where(t.c.participant_id == participant_id)
                        for t in tables])
    ids = defaultdict(list, {"participant": [participant_id]})
    for kind, ident in db.session.execute(owned):
        ids[kind].append(ident)
    if ids.get("enrollment"):
        ids["attendance"] = ids["enrollment"]
    clauses = [and_(AuditLog.entity_type == kind, AuditLog.entity_id.in_(found)) for kind, found in ids.items()]
    return db.session.scalars(select(AuditLog).options(joinedload(AuditLog.user)).where(or_(*clauses))
                              .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)).unique().all()
