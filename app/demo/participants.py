"""Synthetic participants in bulk for demos and benchmarks (1,000,000 in a few minutes).

NIKs are synthetic (serials from 5000 up), spread over all 267 kelurahan; names are drawn from
common Indonesian names. Never used for real data.
"""
import random
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select

from ..core.sequences import next_values
from ..core.timeutil import today_wib, utcnow
from ..extensions import db
from ..participants.models import Participant, ParticipantStep, Sector, name_key
from ..regions.models import Kecamatan, Kelurahan

FIRST_M = ["Budi", "Agus", "Ahmad", "Joko", "Rahmat", "Dedi", "Eko", "Hendra", "Rizky", "Fajar", "Andi", "Bayu",
           "Yusuf", "Hadi", "Slamet", "Irfan", "Taufik", "Wahyu", "Doni", "Arif"]
FIRST_F = ["Siti", "Sri", "Dewi", "Ani", "Rina", "Nur", "Fitri", "Lestari", "Wulan", "Ratna", "Yuni", "Indah",
           "Maya", "Putri", "Ayu", "Nurul", "Eka", "Rini", "Sari", "Dian"]
LAST = ["Santoso", "Wijaya", "Saputra", "Hidayat", "Nugroho", "Kurniawan", "Setiawan", "Pratama", "Lestari",
        "Rahayu", "Susanti", "Hasibuan", "Siregar", "Nasution", "Simanjuntak", "Sihombing", "Aminah", "Maharani",
        "Permata", "Rahmawati", "Wibowo", "Gunawan", "Halim", "Tanjung", "Harahap"]
BUSINESS = ["Warung", "Katering", "Kue", "Jahit", "Laundry", "Bengkel", "Kopi", "Batik", "Kerajinan", "Toko"]
STAGES = ["ide", "baru_mulai", "berjalan"]
BATCH = 10_000
# Of those who reached the step before, the share who reach P2 … P7 (a funnel like the program's).
FUNNEL = [0.55, 0.75, 0.7, 0.5, 0.5, 0.35]


def _later_steps(rng: random.Random, start: date, today: date) -> list[tuple[int, date]]:
    """P2–P7 after a registration on ``start``: each reached by a share of the step before, later in time."""
    steps, day = [], start
    for step, share in enumerate(FUNNEL, start=2):
        day += timedelta(days=rng.randrange(5, 45))
        if day > today or rng.random() >= share:
            break
        steps.append((step, day))
    return steps


def _dates(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


def create_participants(count: int, seed: int = 7, years: int = 2) -> int:
    """Insert ``count`` active (some pending online) participants with their steps; returns the count."""
    rng = random.Random(seed)
    kelurahan = db.session.execute(select(Kelurahan.id, Kelurahan.kecamatan_id)).all()
    kecamatan = {k.id: k for k in db.session.scalars(select(Kecamatan))}
    sectors = list(db.session.scalars(select(Sector.id)))
    births = _dates(date(1960, 1, 2), 365 * 45)
    today = today_wib()
    reg_days = _dates(today - timedelta(days=365 * years), 365 * years)
    existing = dict(db.session.execute(select(Participant.kecamatan_id, func.count()).group_by(Participant.kecamatan_id)).all())
    offsets = {k: existing.get(k, 0) for k in kecamatan}
    now = utcnow()
    created = 0
    while created < count:
        size = min(BATCH, count - created)
        plan = []
        for _ in range(size):
            kel_id, kec_id = kelurahan[rng.randrange(len(kelurahan))]
            j = offsets[kec_id]
            offsets[kec_id] += 1
            born = births[j % len(births)]
            serial = 5000 + j // len(births)
            female = rng.random() < 0.55
            day_code = born.day + (40 if female else 0)
            nik = f"{kecamatan[kec_id].nik_prefix}{day_code:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
            first = rng.choice(FIRST_F if female else FIRST_M)
            name = f"{first} {rng.choice(LAST)}"
            registered = datetime.combine(rng.choice(reg_days), datetime.min.time()) + timedelta(
                hours=rng.randrange(1, 9), minutes=rng.randrange(60))
            online = rng.random() < 0.25
            pending = online and rng.random() < 0.1
            later = [] if pending else _later_steps(rng, registered.date(), today)
            # The mask the triggers would compute; set up front, the step inserts then change nothing.
            mask = 0 if pending else 1 | sum(1 << (step - 1) for step, _day in later)
            plan.append({"kec": kec_id, "pending": pending, "registered": registered, "later": later, "row": {
                "nik": nik, "name": name, "name_key": name_key(name), "gender": "P" if female else "L",
                "birth_date": born, "phone": None if rng.random() < 0.05 else f"+62812{rng.randrange(10**7, 10**8)}",
                "email": None, "address": f"Jl. Contoh No. {rng.randrange(1, 200)}", "kelurahan_id": kel_id,
                "kecamatan_id": kec_id, "business_name": f"{rng.choice(BUSINESS)} {first}",
                "sector_id": rng.choice(sectors), "stage": rng.choice(STAGES),
                "channel": "online" if online else "walkin", "status": "pending" if pending else "active",
                "registered_at": registered, "verified_at": None if pending else registered, "updated_at": now,
                "reg_number": None, "registered_by_id": None, "steps_mask": mask}})
        # Registration numbers: one counter reservation per kecamatan and year in this batch.
        groups: dict[tuple[int, int], list[dict]] = {}
        for item in plan:
            if not item["pending"]:
                groups.setdefault((item["kec"], item["registered"].year), []).append(item)
        for (kec_id, year), items in groups.items():
            items.sort(key=lambda i: i["registered"])
            prefix = kecamatan[kec_id].nik_prefix
            for item, sequence in zip(items, next_values(f"reg:{prefix}:{year}", len(items))):
                item["row"]["reg_number"] = f"{prefix}-{year}-{sequence:05d}"
        ids = db.session.scalars(insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                                 [i["row"] for i in plan]).all()
        steps = []
        for pid, item in zip(ids, plan):
            if item["pending"]:
                continue
            steps.append({"participant_id": pid, "step": 1, "completed_on": item["registered"].date(),
                          "kecamatan_id": item["kec"], "source": "registration", "source_id": pid,
                          "out_of_order": False, "recorded_at": now, "variant": item["row"]["channel"]})
            steps += [{"participant_id": pid, "step": step, "completed_on": day, "kecamatan_id": item["kec"],
                       "source": "demo", "source_id": None, "out_of_order": False, "recorded_at": now,
                       "variant": ("sku" if pid % 20 >= 9 else "iumk") if step == 4 else None}
                      for step, day in item["later"]]
        if steps:
            db.session.execute(insert(ParticipantStep), steps)
        db.session.commit()
        created += size
    return created
