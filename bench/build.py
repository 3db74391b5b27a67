"""The benchmark database, built in bulk: ``python bench/build.py [--participants N] [--verify]``.

N synthetic participants (default 1,000,000) over the 267 kelurahan, registered over two years, and
what a funnel of P1–P7 leaves behind: courses of three meetings with enrolments and attendance
(P2), pendamping visits (P3), licences with their SKU request letters (P4), bazaars with sign-ups
(P5), financial reports (P6), capital applications (P7), certificates, open letters, pending online
registrations; plus the users the load driver logs in as (one desk per kecamatan, two
facilitators per kecamatan, a pendamping per kecamatan, a manager for the province and each kota),
and two courses per kecamatan meeting today with 100 enrolled each (the rosters that get tapped).

How it is fast: the schema comes from ``flask db upgrade`` (so it is the app's schema), then the
rows go in with the triggers and secondary indexes out of the way (SQLite: dropped and created
again from their own SQL; PostgreSQL: ``session_replication_role = replica`` and COPY, indexes
dropped and created again), and what the triggers would have kept is computed in bulk afterwards:
``participant.steps_mask`` (written with each participant), ``step_tally``, ``participant_tally``,
``step_variant_tally`` and its yearly roll-up, ``quality_tally`` (GROUP BY, the migrations' backfill), and the search index
(SQLite FTS5 ``participant_search`` filled in one statement; PostgreSQL's trigram GIN index
created after the load). PostgreSQL is then vacuumed and analysed (as autovacuum would); SQLite's
planner statistics are gathered as the app's worker gathers them every hour (sampled ANALYZE). ``--verify`` then asks the app itself (``reports.tallies.drift`` and the
app's search) whether the result is what the triggers would have produced.

Database: ``DATABASE_URL`` (PostgreSQL: the database is emptied first; the user must be a
superuser for ``session_replication_role``), else ``bench/data/bench-N.sqlite``. A build is
reused when N, the seed, the migrations and this file are unchanged (``--force`` rebuilds).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
BENCH_PASSWORD = "bench-okoce-sandi-2026"
CHUNK = 50_000  # participants generated and written at a time
BUILDER_VERSION = 5  # raise it whenever a change here changes the rows written

FIRST_M = ["Budi", "Agus", "Ahmad", "Joko", "Rahmat", "Dedi", "Eko", "Hendra", "Rizky", "Fajar", "Andi", "Bayu",
           "Yusuf", "Hadi", "Slamet", "Irfan", "Taufik", "Wahyu", "Doni", "Arif", "Bambang", "Teguh", "Imam",
           "Sutrisno", "Gilang"]
FIRST_F = ["Siti", "Sri", "Dewi", "Ani", "Rina", "Nur", "Fitri", "Lestari", "Wulan", "Ratna", "Yuni", "Indah",
           "Maya", "Putri", "Ayu", "Nurul", "Eka", "Rini", "Sari", "Dian", "Kartika", "Mega", "Yanti", "Tuti",
           "Endang"]
LAST = ["Santoso", "Wijaya", "Saputra", "Hidayat", "Nugroho", "Kurniawan", "Setiawan", "Pratama", "Lestari",
        "Rahayu", "Susanti", "Hasibuan", "Siregar", "Nasution", "Simanjuntak", "Sihombing", "Aminah", "Maharani",
        "Permata", "Rahmawati", "Wibowo", "Gunawan", "Halim", "Tanjung", "Harahap", "Purnomo", "Sulistyo",
        "Hakim", "Fauzi", "Anggraini"]
BUSINESS = ["Warung", "Katering", "Kue", "Jahit", "Laundry", "Bengkel", "Kopi", "Batik", "Kerajinan", "Toko",
            "Sambal", "Keripik", "Salon", "Percetakan", "Bakso"]
STAGES = ["ide", "baru_mulai", "berjalan"]
# Of those who reached the step before, the share who reach P2 … P7 (the demo data's funnel).
FUNNEL = [0.55, 0.75, 0.7, 0.5, 0.5, 0.35]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
COURSE_SIZE = 40
ROSTER_SIZE = 100

# Tables written here: name -> columns, in the order of the generated rows.
COLUMNS = {
    "app_user": ["id", "username", "full_name", "password_hash", "role", "scope_level", "kota_id", "kecamatan_id",
                 "active", "session_token", "must_change_password", "created_at", "last_login_at"],
    "participant": ["id", "reg_number", "nik", "name", "name_key", "gender", "birth_date", "phone", "email",
                    "address", "kelurahan_id", "kecamatan_id", "business_name", "sector_id", "stage", "channel",
                    "status", "rejection_reason", "merged_into_id", "registered_by_id", "registered_at",
                    "verified_at", "updated_at", "pendamping_id", "steps_mask"],
    "participant_step": ["id", "participant_id", "step", "completed_on", "kecamatan_id", "source", "source_id",
                         "out_of_order", "recorded_at", "variant"],
    "course": ["id", "title", "topic", "kecamatan_id", "facilitator_id", "min_meetings", "created_by_id",
               "created_at"],
    "meeting": ["id", "course_id", "number", "date", "start_time", "end_time", "venue", "capacity", "closed_at",
                "closed_by_id"],
    "enrollment": ["id", "course_id", "participant_id", "enrolled_at", "enrolled_by_id", "completed_on"],
    "attendance": ["id", "meeting_id", "enrollment_id", "status", "automatic", "marked_by_id", "marked_at"],
    "certificate": ["id", "code", "number", "course_id", "participant_id", "kecamatan_id", "issued_at",
                    "issued_by_id"],
    "visit": ["id", "participant_id", "pendamping_id", "visit_date", "topic", "notes", "next_step", "follow_up_on",
              "recorded_at"],
    "sku_letter": ["id", "kecamatan_id", "participant_id", "kelurahan_id", "year", "sequence", "number", "code",
                   "letter_date", "signer_name", "signer_title", "signer_nip", "status", "cancel_reason",
                   "created_by_id", "created_at"],
    "license": ["id", "participant_id", "kecamatan_id", "kind", "number", "number_key", "issued_on", "kelurahan_id",
                "letter_id", "recorded_by_id", "recorded_at"],
    "event": ["id", "kind", "name", "kecamatan_id", "venue", "starts_on", "ends_on", "booths", "signup_opens",
              "signup_closes", "created_by_id", "created_at", "fair_order", "reach", "kota_id"],
    "signup": ["id", "event_id", "participant_id", "status", "booth", "attended", "created_at", "promoted_at",
               "cancel_reason", "created_by_id", "queue_rank"],
    "financial_report": ["id", "participant_id", "month", "revenue", "costs", "employees", "note",
                         "recorded_by_id", "recorded_at"],
    "capital_application": ["id", "participant_id", "institution", "product", "amount", "status", "referred_on",
                            "applied_on", "decided_on", "recorded_by_id", "recorded_at"],
    "sequence_counter": ["name", "value"],
}
BIG_TABLES = [t for t in COLUMNS if t not in ("sequence_counter",)]
DERIVED = ["step_tally", "participant_tally", "step_variant_tally", "step_variant_year_tally", "quality_tally"]


def today_wib() -> date:
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def utc_of(day: date, hour: int = 3, minute: int = 0) -> datetime:
    """A naive UTC datetime (as the app stores them) on ``day`` during office hours in Jakarta."""
    return datetime.combine(day, dtime(hour, minute))


def name_key(name: str) -> str:
    # The generated names are plain ASCII letters and spaces: the app's name_key is lower case here.
    return " ".join(name.lower().split())


def number_key(kind: str, number: str, kelurahan_id: int | None) -> str:
    return f"{kind}:{kelurahan_id or ''}:{''.join(number.upper().split())}"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- Generation ---------------------------------------------------------------------------------

@dataclass
class Region:
    kota: list  # (id, code)
    kecamatan: list  # (id, code, nik_prefix, kota_id, name)
    kelurahan: list  # (id, kecamatan_id, code)


@dataclass
class Ids:
    values: dict = field(default_factory=dict)

    def next(self, table: str) -> int:
        value = self.values.get(table, 0) + 1
        self.values[table] = value
        return value


class Generator:
    """Yields rows per table, a chunk of participants at a time; keeps the small tables (courses,
    meetings, events, counters) and writes them at the end."""

    def __init__(self, n: int, seed: int, region: Region, sectors: list[int], first_user_id: int, today: date,
                 password_hash: str):
        self.n, self.rng, self.region, self.sectors, self.today = n, random.Random(seed), region, sectors, today
        self.ids = Ids({"app_user": first_user_id - 1})
        self.now = datetime.utcnow().replace(microsecond=0)
        self.start = today - timedelta(days=730)
        self.kec = {k[0]: k for k in region.kecamatan}
        self.kel_by_kec: dict[int, list] = {}
        for kel in region.kelurahan:
            self.kel_by_kec.setdefault(kel[1], []).append(kel)
        self.kec_by_kota: dict[int, list[int]] = {}
        for k in region.kecamatan:
            self.kec_by_kota.setdefault(k[3], []).append(k[0])
        self.counters: dict[str, int] = {}
        self.nik_serial: dict[str, int] = {}
        self.births = [date(1960, 1, 2) + timedelta(days=i) for i in range(365 * 45)]
        self.courses: dict[tuple[int, date], list] = {}  # (kec, last meeting) -> [[course_id, meeting ids, count]]
        self.course_rows: list[tuple] = []
        self.meeting_rows: list[tuple] = []
        self.events: dict[tuple[int, int, int], list] = {}  # (kec, year, month) -> [event id, starts, ends, booths]
        self.users = self._users(password_hash)

    # Users -------------------------------------------------------------------------------------
    def _users(self, password_hash: str) -> dict:
        rows, by = [], {"staff": {}, "facilitator": {}, "pendamping": {}, "kota": {}}
        created = self.now - timedelta(days=800)

        def add(username, full_name, role, level, kota_id=None, kecamatan_id=None):
            uid = self.ids.next("app_user")
            rows.append((uid, username, full_name, password_hash, role, level, kota_id, kecamatan_id, True,
                         secrets.token_urlsafe(16), False, created, None))
            return uid

        by["admin"] = add("bench.admin", "Admin Dinas (bench)", "admin", "province")
        by["province"] = add("bench.dinas", "Manajer Dinas (bench)", "manager", "province")
        for kota_id, code in self.region.kota:
            by["kota"][kota_id] = add(f"bench.sudin{kota_id}", f"Manajer Sudin {code} (bench)", "manager", "kota",
                                      kota_id=kota_id)
        for kec_id, code, _prefix, _kota, name in self.region.kecamatan:
            by["staff"][kec_id] = add(f"bench.petugas{kec_id}", f"Petugas {name} (bench)", "staff", "kecamatan",
                                      kecamatan_id=kec_id)
            by["facilitator"][kec_id] = [add(f"bench.fasil{kec_id}.{i}", f"Fasilitator {i} {name} (bench)",
                                             "facilitator", "kecamatan", kecamatan_id=kec_id) for i in (1, 2)]
            by["pendamping"][kec_id] = add(f"bench.pendamping{kec_id}", f"Pendamping {name} (bench)", "pendamping",
                                           "kecamatan", kecamatan_id=kec_id)
        self.user_rows = rows
        return by

    # Counters and codes --------------------------------------------------------------------------
    def counter(self, name: str) -> int:
        value = self.counters.get(name, 0) + 1
        self.counters[name] = value
        return value

    def code(self) -> str:
        return "".join(self.rng.choice(CODE_ALPHABET) for _ in range(10))

    # Registration times: sorted, so ids and registration numbers follow the calendar --------
    def registration_times(self) -> list[int]:
        span = (self.today - self.start).days
        rng = self.rng
        minutes = sorted(rng.randrange(span) * 1440 + rng.randrange(60, 540) for _ in range(self.n))
        return minutes

    # Courses: one or more per kecamatan and week, three weekly meetings, 40 at most ----------------
    def course_for(self, kec_id: int, last: date, registered: date) -> tuple[int, list[int], list[date]]:
        slots = self.courses.setdefault((kec_id, last), [])
        if not slots or slots[-1][2] >= COURSE_SIZE:
            cid = self.ids.next("course")
            facilitator = self.users["facilitator"][kec_id][len(slots) % 2]
            dates = [last - timedelta(days=14), last - timedelta(days=7), last]
            self.course_rows.append((cid, f"Pelatihan Dasar Usaha {last:%d/%m/%Y}" + (f" ({len(slots) + 1})" if slots else ""),
                                     "Perencanaan usaha, kemasan, pemasaran daring", kec_id, facilitator, None,
                                     self.users["staff"][kec_id], utc_of(dates[0] - timedelta(days=21))))
            mids = []
            for number, day in enumerate(dates, start=1):
                mid = self.ids.next("meeting")
                closed = utc_of(day, 7) if day < self.today else None
                self.meeting_rows.append((mid, cid, number, day, dtime(9), dtime(12), "Aula Kantor Kecamatan",
                                          COURSE_SIZE, closed, facilitator if closed else None))
                mids.append(mid)
            slots.append([cid, mids, 0, dates, facilitator])
        slot = slots[-1]
        slot[2] += 1
        return slot[0], slot[1], slot[3], slot[4]

    def event_for(self, kec_id: int, on_or_after: date):
        year, month = on_or_after.year, on_or_after.month
        if on_or_after.day > 15:
            month += 1
            if month == 13:
                year, month = year + 1, 1
        starts = date(year, month, 15)
        if starts > self.today:
            return None
        key = (kec_id, year, month)
        event = self.events.get(key)
        if event is None:
            event = self.events[key] = [self.ids.next("event"), starts, starts + timedelta(days=1), 0]
        event[3] += 1
        return event

    # One chunk of participants -------------------------------------------------------------------
    def chunk(self, minutes: list[int]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        rng, today, kec_info, users = self.rng, self.today, self.kec, self.users
        kelurahan = self.region.kelurahan
        for minute in minutes:
            pid = self.ids.next("participant")
            kel_id, dom_kec, _kel_code = kelurahan[rng.randrange(len(kelurahan))]
            kec_id = dom_kec
            if rng.random() < 0.03:  # registered at another office of the same kota
                kec_id = rng.choice(self.kec_by_kota[kec_info[dom_kec][3]])
            prefix = kec_info[kec_id][2]
            reg_day = self.start + timedelta(days=minute // 1440)
            registered = datetime.combine(reg_day, dtime()) + timedelta(minutes=minute % 1440)
            r = rng.random()
            channel = "online" if r < 0.25 else "import" if r < 0.35 else "walkin"
            status, verified_at, p1 = "active", registered, reg_day
            if channel == "online":
                if (today - reg_day).days <= 30 and rng.random() < 0.4:
                    status = "pending"
                elif rng.random() < 0.02:
                    status = "rejected"
                else:
                    p1 = min(reg_day + timedelta(days=rng.randrange(0, 4)), today)
                    verified_at = utc_of(p1, rng.randrange(1, 9), rng.randrange(60))
            if status != "active":
                verified_at = None
            # NIK: the domicile kecamatan's prefix, birth date (+40 for women), a serial.
            nik_prefix = kec_info[dom_kec][2]
            j = self.nik_serial.get(nik_prefix, 0)
            self.nik_serial[nik_prefix] = j + 1
            born = self.births[j % len(self.births)]
            female = rng.random() < 0.55
            nik = f"{nik_prefix}{born.day + (40 if female else 0):02d}{born.month:02d}{born.year % 100:02d}" \
                  f"{5000 + j // len(self.births):04d}"
            first = rng.choice(FIRST_F if female else FIRST_M)
            name = f"{first} {rng.choice(LAST)}"
            if rng.random() < 0.3:
                name += " " + rng.choice(LAST)
            reg_number = None
            if status == "active":
                reg_number = f"{prefix}-{p1.year}-{self.counter(f'reg:{prefix}:{p1.year}'):05d}"
            staff = users["staff"][kec_id]
            steps = []
            pendamping = None
            if status == "active":
                steps.append((1, p1, "registration", pid, channel))
                steps += self._funnel(out, pid, kec_id, kel_id, p1, registered)
                if any(s[0] == 3 for s in steps) or (len(steps) > 1 and rng.random() < 0.3):
                    pendamping = users["pendamping"][kec_id]
            mask = 0
            for step in steps:
                mask |= 1 << (step[0] - 1)
                out["participant_step"].append((self.ids.next("participant_step"), pid, step[0], step[1], kec_id,
                                                step[2], step[3], False, utc_of(step[1], 4), step[4]))
            out["participant"].append((
                pid, reg_number, nik, name, name_key(name), "P" if female else "L", born,
                None if rng.random() < 0.05 else f"+62812{rng.randrange(10 ** 7, 10 ** 8)}", None,
                f"Jl. Contoh No. {rng.randrange(1, 200)}", kel_id, kec_id, f"{rng.choice(BUSINESS)} {first}",
                rng.choice(self.sectors), rng.choice(STAGES), channel, status,
                "Data tidak lengkap" if status == "rejected" else None, None,
                None if channel == "online" else staff, registered, verified_at,
                verified_at or registered, pendamping, mask))
        return out

    def _funnel(self, out, pid, kec_id, kel_id, p1: date, registered: datetime) -> list[tuple]:
        """P2–P7 after P1 on ``p1``, each reached by a share of those at the step before, with the
        records that complete each step. Returns (step, date, source, source_id, variant)."""
        rng, today, users = self.rng, self.today, self.users
        steps = []
        # P2: a course whose last meeting is 20–60 days after P1 (the first is two weeks earlier).
        last = p1 + timedelta(days=rng.randrange(20, 60))
        last += timedelta(days=(4 - last.weekday()) % 7)  # courses end on a Friday
        reaches = rng.random() < FUNNEL[0]
        enrolled = reaches or rng.random() < 0.25
        if not enrolled:
            return steps
        cid, mids, dates, facilitator = self.course_for(kec_id, last, p1)
        eid = self.ids.next("enrollment")
        completed = reaches and last <= today
        out["enrollment"].append((eid, cid, pid, utc_of(dates[0] - timedelta(days=rng.randrange(1, 6)), 2), users["staff"][kec_id],
                                  last if completed else None))
        missed = None if reaches else rng.randrange(3)
        for k, (mid, day) in enumerate(zip(mids, dates)):
            if day >= today:
                break
            if k == missed:
                out["attendance"].append((self.ids.next("attendance"), mid, eid, "tidak_hadir", True, facilitator,
                                          utc_of(day, 7)))
            else:
                out["attendance"].append((self.ids.next("attendance"), mid, eid,
                                          "terlambat" if rng.random() < 0.1 else "hadir", False, facilitator,
                                          utc_of(day, 2, rng.randrange(60))))
        if not completed:
            return steps
        steps.append((2, last, "course", cid, None))
        if rng.random() < 0.8:
            year = last.year
            prefix = self.kec[kec_id][2]
            seq = self.counter(f"cert:{prefix}:{year}")
            out["certificate"].append((self.ids.next("certificate"), self.code(), f"{seq:05d}/SERT-PKT/{prefix}/{year}",
                                       cid, pid, kec_id, utc_of(last, 8), facilitator))
        # P3: the first pendamping visit.
        day = last + timedelta(days=rng.randrange(5, 45))
        if day > today or rng.random() >= FUNNEL[1]:
            return steps
        pendamping = users["pendamping"][kec_id]
        first_visit = None
        for v in range(rng.randrange(1, 4)):
            vday = day + timedelta(days=30 * v)
            if vday > today:
                break
            vid = self.ids.next("visit")
            first_visit = first_visit or vid
            out["visit"].append((vid, pid, pendamping, vday, "Kunjungan usaha", "Catatan kunjungan.",
                                 "Urus izin usaha", None, utc_of(vday, 9)))
        steps.append((3, day, "visit", first_visit, None))
        # P4: a licence; an SKU comes with its request letter.
        day4 = day + timedelta(days=rng.randrange(5, 45))
        prefix = self.kec[kec_id][2]
        if day4 > today or rng.random() >= FUNNEL[2]:
            if rng.random() < 0.25:  # an open request letter waiting for the SKU
                self._letter(out, pid, kec_id, kel_id, min(day4, today), "requested")
            return steps
        r = rng.random()
        kind = "sku" if r < 0.55 else "iumk" if r < 0.8 else "nib"
        letter_id, kel_issuer = None, None
        if kind == "sku":
            letter_id = self._letter(out, pid, kec_id, kel_id, max(day4 - timedelta(days=rng.randrange(3, 15)), day),
                                     "issued")
            kel_issuer = kel_id
            number = f"{pid:07d}/SKU/{day4.year}"
        elif kind == "iumk":
            number = f"{pid:07d}/IUMK/{prefix}/{day4.year}"
        else:
            number = f"9{pid:012d}"
        lid = self.ids.next("license")
        out["license"].append((lid, pid, kec_id, kind, number, number_key(kind, number, kel_issuer), day4, kel_issuer,
                               letter_id, users["staff"][kec_id], utc_of(day4, 5)))
        steps.append((4, day4, "license", lid, kind))
        # P5: the kecamatan's monthly bazaar (the 15th), attended.
        event = self.event_for(kec_id, day4 + timedelta(days=rng.randrange(5, 45)))
        if event is None or rng.random() >= FUNNEL[3]:
            return steps
        out["signup"].append((self.ids.next("signup"), event[0], pid, "confirmed", event[3], True,
                              utc_of(event[1] - timedelta(days=rng.randrange(2, 20)), 3), None, None,
                              users["staff"][kec_id], None))
        steps.append((5, event[1], "event", event[0], None))
        # P6: monthly financial reports.
        day6 = event[1] + timedelta(days=rng.randrange(15, 60))
        if day6 > today or rng.random() >= FUNNEL[4]:
            return steps
        month = date(day6.year, day6.month, 1)
        first_report = None
        for _ in range(rng.randrange(1, 4)):
            if month > today:
                break
            fid = self.ids.next("financial_report")
            first_report = first_report or fid
            revenue = rng.randrange(2, 80) * 500_000
            out["financial_report"].append((fid, pid, month, revenue, revenue * rng.randrange(40, 90) // 100,
                                            rng.randrange(0, 6), "", users["staff"][kec_id],
                                            utc_of(month + timedelta(days=27 if month.month != 2 else 25), 4)))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        steps.append((6, max(date(day6.year, day6.month, 1), p1), "financial_report", first_report, None))
        # P7: a capital application, approved (some are still referred or were rejected).
        day7 = day6 + timedelta(days=rng.randrange(20, 90))
        if day7 > today:
            return steps
        approved = rng.random() < FUNNEL[5]
        status = "approved" if approved else rng.choice(["referred", "rejected", "applied"])
        aid = self.ids.next("capital_application")
        referred = day7 - timedelta(days=14)
        out["capital_application"].append((aid, pid, "Bank DKI", "KUR Mikro", rng.randrange(5, 50) * 1_000_000, status,
                                           referred, None if status == "referred" else referred + timedelta(days=7),
                                           day7 if status in ("approved", "rejected") else None,
                                           users["staff"][kec_id], utc_of(referred, 4)))
        if approved:
            steps.append((7, day7, "capital", aid, None))
        return steps

    def _letter(self, out, pid, kec_id, kel_id, day: date, status: str) -> int:
        prefix = self.kec[kec_id][2]
        seq = self.counter(f"sku:{prefix}:{day.year}")
        lid = self.ids.next("sku_letter")
        out["sku_letter"].append((lid, kec_id, pid, kel_id, day.year, seq, f"{seq:03d}/PKT/{ROMAN[day.month - 1]}/{day.year}",
                                  self.code(), day, "Camat (bench)", f"Camat {self.kec[kec_id][4]}", "197001011990031001",
                                  status, None, self.users["staff"][kec_id], utc_of(day, 3)))
        return lid

    # The rosters tapped by the benchmark: two courses per kecamatan meeting today -----------------
    def today_rosters(self, candidates: dict[int, list[int]]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        today = self.today
        for kec_id, pids in sorted(candidates.items()):
            for i, facilitator in enumerate(self.users["facilitator"][kec_id]):
                # the latest registered; the two rosters share people where the kecamatan has few
                members = pids[-(i + 1) * ROSTER_SIZE:len(pids) - i * ROSTER_SIZE] or pids[-ROSTER_SIZE:]
                cid = self.ids.next("course")
                self.course_rows.append((cid, f"Kelas Hari Ini {i + 1} (bench)", "Pemasaran daring", kec_id,
                                         facilitator, None, self.users["staff"][kec_id], utc_of(today - timedelta(days=14))))
                for number, day in enumerate([today, today + timedelta(days=7)], start=1):
                    self.meeting_rows.append((self.ids.next("meeting"), cid, number, day, dtime(0, 1), dtime(23, 59),
                                              "Aula Kantor Kecamatan", 200, None, None))
                for pid in members:
                    out["enrollment"].append((self.ids.next("enrollment"), cid, pid, utc_of(today - timedelta(days=7)),
                                              self.users["staff"][kec_id], None))
        return out

    def tail(self) -> dict[str, list[tuple]]:
        """The small tables, once every participant is written."""
        out: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        out["course"] = self.course_rows
        out["meeting"] = self.meeting_rows
        for (kec_id, _y, _m), (eid, starts, ends, booths) in self.events.items():
            out["event"].append((eid, "bazar", f"Bazar UMKM {self.kec[kec_id][4]} {starts:%m/%Y}", kec_id,
                                 f"Lapangan {self.kec[kec_id][4]}", starts, ends, max(booths, 1),
                                 starts - timedelta(days=30), starts - timedelta(days=1), self.users["staff"][kec_id],
                                 utc_of(starts - timedelta(days=35)), False, "kecamatan", None))
        out["sequence_counter"] = sorted(self.counters.items())
        return out


# --- Writers --------------------------------------------------------------------------------------

def _sqlite_adapters():
    sqlite3.register_adapter(datetime, lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f"))
    sqlite3.register_adapter(date, lambda d: d.isoformat())
    sqlite3.register_adapter(dtime, lambda t: t.strftime("%H:%M:%S.%f"))


def sqlite_bucket(column: str) -> str:
    """The tally period of a date (as the 'dashboard tallies' migration writes it)."""
    return (f"max(date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days'), "
            f"strftime('%Y-01-01', {column}))")


def _migration(name: str):
    """The module of the migration whose file ends in ``_<name>.py`` (its bulk SQL is reused here)."""
    (path,) = (Path(__file__).resolve().parent.parent / "migrations" / "versions").glob(f"*_{name}.py")
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TALLY_SQL = [
    """INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
       SELECT p.kelurahan_id, k.kecamatan_id, s.step, {period}, count(*),
              sum(CASE WHEN s.out_of_order THEN 1 ELSE 0 END)
       FROM participant_step s JOIN participant p ON p.id = s.participant_id JOIN kelurahan k ON k.id = p.kelurahan_id
       GROUP BY p.kelurahan_id, k.kecamatan_id, s.step, {period}""",
    """INSERT INTO participant_tally (kelurahan_id, kecamatan_id, steps_mask, n)
       SELECT p.kelurahan_id, k.kecamatan_id, p.steps_mask, count(*)
       FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id
       GROUP BY p.kelurahan_id, k.kecamatan_id, p.steps_mask""",
    """INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
       SELECT p.kelurahan_id, k.kecamatan_id, s.step, s.variant, {period}, count(*)
       FROM participant_step s JOIN participant p ON p.id = s.participant_id JOIN kelurahan k ON k.id = p.kelurahan_id
       WHERE s.variant IS NOT NULL
       GROUP BY p.kelurahan_id, k.kecamatan_id, s.step, s.variant, {period}""",
    # after the weekly variant rows, the later migrations' own backfills: the yearly variant roll-up
    # (``{year}``: the dialect's year of a date) and the quality tally
    _migration("variant_year_tally").BACKFILL,
    _migration("quality_tally").BACKFILL,
]
YEAR = _migration("variant_year_tally").YEAR


class SqliteWriter:
    def __init__(self, path: Path, log):
        _sqlite_adapters()
        self.log = log
        self.conn = sqlite3.connect(path, isolation_level=None, detect_types=0)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-500000",
                       "temp_store=MEMORY", "locking_mode=EXCLUSIVE"):
            self.conn.execute(f"PRAGMA {pragma}")

    def query(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchall()

    def begin_load(self):
        self.triggers = self.query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        tables = ",".join(f"'{t}'" for t in BIG_TABLES + ["participant_search"])
        self.indexes = self.query(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                  f"AND tbl_name IN ({tables})")
        for name, _sql in self.triggers:
            self.conn.execute(f"DROP TRIGGER {name}")
        for name, _sql in self.indexes:
            self.conn.execute(f"DROP INDEX {name}")
        self.conn.execute("BEGIN")

    def write(self, table: str, rows: list[tuple]):
        if rows:
            cols = COLUMNS[table]
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                  rows)

    def finish_load(self):
        self.conn.execute("COMMIT")
        started = time.monotonic()
        for name, sql in self.indexes:
            self.conn.execute(sql)
        self.log(f"indexes created again ({len(self.indexes)}) in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        self.conn.execute("BEGIN")
        for sql in DERIVED:
            self.conn.execute(f"DELETE FROM {sql}")
        for sql in TALLY_SQL:
            self.conn.execute(sql.format(period=sqlite_bucket("s.completed_on"), year=YEAR["sqlite"]))
        self.conn.execute("DELETE FROM participant_search")
        self.conn.execute("INSERT INTO participant_search (rowid, body) "
                          "SELECT id, name_key || ' ' || lower(business_name) FROM participant")
        self.conn.execute("COMMIT")
        self.log(f"tallies and search index computed in {time.monotonic() - started:.0f} s")
        for _name, sql in self.triggers:
            self.conn.execute(sql)
        # No ANALYZE: the app never runs it on SQLite, so its databases have no sqlite_stat1, and
        # the query plans measured are the ones it gets (with statistics, SQLite picks worse plans
        # for some dashboard queries: see bench/RESULTS.md).
        self.conn.execute("PRAGMA locking_mode=NORMAL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


class PostgresWriter:
    def __init__(self, url: str, log):
        import psycopg

        self.log = log
        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        self.conn.execute("SET synchronous_commit = off")
        self.conn.execute("SET maintenance_work_mem = '512MB'")

    def query(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchall()

    def begin_load(self):
        tables = BIG_TABLES
        self.indexes = self.query(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)""",
            (tables,))
        for name, _sql in self.indexes:
            self.conn.execute(f"DROP INDEX {name}")
        self.conn.execute("SET session_replication_role = replica")  # no trigger fires, foreign keys included
        self.tx = self.conn.transaction()
        self.tx.__enter__()

    def write(self, table: str, rows: list[tuple]):
        if rows:
            with self.conn.cursor().copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def finish_load(self):
        self.tx.__exit__(None, None, None)
        self.conn.execute("SET session_replication_role = origin")
        started = time.monotonic()
        for name, sql in self.indexes:
            self.conn.execute(sql)
        self.log(f"indexes created again ({len(self.indexes)}, the trigram GIN index included) "
                 f"in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        with self.conn.transaction():
            # no trigger fires here either: the yearly variant tally's (on step_variant_tally) is computed in bulk
            self.conn.execute("SET LOCAL session_replication_role = replica")
            for table in DERIVED:
                self.conn.execute(f"DELETE FROM {table}")
            for sql in TALLY_SQL:
                self.conn.execute(sql.format(period="tally_period(s.completed_on)", year=YEAR["postgresql"]))
            for table in BIG_TABLES:
                self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        self.log(f"tallies computed in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        self.conn.execute("VACUUM ANALYZE")
        self.log(f"VACUUM ANALYZE in {time.monotonic() - started:.0f} s")
        self.conn.close()


# --- The build ------------------------------------------------------------------------------------

def build_key(n: int, seed: int) -> str:
    """Same N, seed, day (the rosters meet today), migrations and BUILDER_VERSION: same database."""
    digest = hashlib.sha256(f"{n}:{seed}:{today_wib()}:{BUILDER_VERSION}".encode())
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_url(n: int) -> str:
    return f"sqlite:///{DATA / f'bench-{n}.sqlite'}"


def sized_url(url: str | None, n: int) -> str:
    """The database for a build of ``n``: bench/data/bench-N.sqlite, or on PostgreSQL a database of
    its own per size next to the one named (``okoce_bench`` -> ``okoce_bench_100000``, created if
    missing), so the builds of each size are kept and reused."""
    if not url:
        return default_url(n)
    if url.startswith("sqlite"):
        return url
    import psycopg

    server, name = url.split("?", 1)[0].rsplit("/", 1)
    sized = f"{name}_{n}"
    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://") + "/postgres",
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (sized,)).fetchone():
            conn.execute(f'CREATE DATABASE "{sized}"')
    return f"{server}/{sized}"


def _key_file(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///") + ".key")
    return DATA / f"pg-{hashlib.sha256(url.encode()).hexdigest()[:12]}.key"


def _flask(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi.py"}
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _fresh_schema(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", ".key"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        _key_file(url).unlink(missing_ok=True)
    _flask(url, "db", "upgrade")
    _flask(url, "regions", "load")


def build(n: int, url: str, seed: int = 17, force: bool = False, verify: bool = False, log=print) -> dict:
    """Build (or reuse) the database; returns a summary with the row counts and the time taken."""
    key = build_key(n, seed)
    key_file = _key_file(url)
    DATA.mkdir(parents=True, exist_ok=True)
    if not force and key_file.exists() and json.loads(key_file.read_text()).get("key") == key:
        summary = json.loads(key_file.read_text())
        log(f"reusing the build of {n:,} participants ({url.split('@')[-1]}, built in {summary['seconds']:.0f} s)")
        if verify:
            summary["verified"] = verify_database(url)
        return summary
    started = time.monotonic()
    _fresh_schema(url)
    log(f"schema migrated and regions loaded in {time.monotonic() - started:.0f} s")
    writer = SqliteWriter(Path(url.removeprefix("sqlite:///")), log) if url.startswith("sqlite") \
        else PostgresWriter(url, log)
    region = Region(
        kota=writer.query("SELECT id, code FROM kota ORDER BY id"),
        kecamatan=writer.query("SELECT id, code, nik_prefix, kota_id, name FROM kecamatan ORDER BY id"),
        kelurahan=writer.query("SELECT id, kecamatan_id, code FROM kelurahan ORDER BY id"))
    sectors = [r[0] for r in writer.query("SELECT id FROM sector ORDER BY id")]
    first_user = (writer.query("SELECT coalesce(max(id), 0) FROM app_user")[0][0] or 0) + 1
    from werkzeug.security import generate_password_hash

    gen = Generator(n, seed, region, sectors, first_user, today_wib(), generate_password_hash(BENCH_PASSWORD))
    writer.begin_load()
    writer.write("app_user", gen.user_rows)
    counts: dict[str, int] = {"app_user": len(gen.user_rows)}
    minutes = gen.registration_times()
    roster_candidates: dict[int, list[int]] = {}
    for start in range(0, n, CHUNK):
        rows = gen.chunk(minutes[start:start + CHUNK])
        for table, table_rows in rows.items():
            writer.write(table, table_rows)
            counts[table] = counts.get(table, 0) + len(table_rows)
        for row in rows["participant"]:
            if row[16] == "active":
                roster_candidates.setdefault(row[11], []).append(row[0])
        for kec in roster_candidates:
            roster_candidates[kec] = roster_candidates[kec][-2 * ROSTER_SIZE:]
        log(f"{min(start + CHUNK, n):,} participants written ({time.monotonic() - started:.0f} s)")
    for rows in (gen.today_rosters(roster_candidates), gen.tail()):
        for table, table_rows in rows.items():
            writer.write(table, table_rows)
            counts[table] = counts.get(table, 0) + len(table_rows)
    writer.finish_load()
    if url.startswith("sqlite"):
        planner_statistics(url)
        log("planner statistics gathered (as the app's worker does every hour)")
    seconds = time.monotonic() - started
    summary = {"key": key, "participants": n, "seed": seed, "seconds": round(seconds, 1), "rows": counts,
               "built_on": datetime.utcnow().isoformat(timespec="seconds") + "Z", "today": today_wib().isoformat()}
    key_file.write_text(json.dumps(summary, indent=1))
    log(f"built {n:,} participants in {seconds:.0f} s: " + ", ".join(f"{t} {c:,}" for t, c in counts.items() if c))
    if verify:
        summary["verified"] = verify_database(url)
    return summary


def planner_statistics(url: str) -> None:
    """SQLite's planner statistics, gathered the way the app's worker gathers them every hour."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.core.db import refresh_planner_statistics
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        refresh_planner_statistics()
        db.session.remove()
        db.engine.dispose()


def verify_database(url: str) -> dict:
    """The app's own check: its tally check against a recount of the records, the search index
    against a plain scan, and the step rows against their source records. Raises on a difference."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.participants.models import Participant
    from app.participants.search import text_clause
    from app.reports.tallies import drift

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        problems = drift(limit=20)
        if problems:
            raise SystemExit("tallies differ from the records:\n" + "\n".join(problems))
        checks = {"tallies": "agree"}
        for term in ("santoso", "siti", "warung bud", "ri sa"):
            indexed = db.session.scalar(db.select(db.func.count()).select_from(Participant).where(text_clause(term)))
            scanned = db.session.scalar(text(
                "SELECT count(*) FROM participant WHERE (name_key || ' ' || lower(business_name)) LIKE :p"),
                {"p": f"%{term}%"})
            if indexed != scanned:
                raise SystemExit(f"search '{term}': index {indexed}, scan {scanned}")
            checks[f"search {term!r}"] = indexed
        orphans = db.session.scalar(text("""SELECT count(*) FROM participant_step s WHERE
            (s.source = 'course' AND NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.course_id = s.source_id
                AND e.participant_id = s.participant_id AND e.completed_on = s.completed_on))
            OR (s.source = 'license' AND NOT EXISTS (SELECT 1 FROM license l WHERE l.id = s.source_id
                AND l.participant_id = s.participant_id AND l.issued_on = s.completed_on))
            OR (s.source = 'visit' AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.id = s.source_id
                AND v.participant_id = s.participant_id AND v.visit_date = s.completed_on))
            OR (s.source = 'event' AND NOT EXISTS (SELECT 1 FROM signup g WHERE g.event_id = s.source_id
                AND g.participant_id = s.participant_id AND g.attended))
            OR (s.source = 'capital' AND NOT EXISTS (SELECT 1 FROM capital_application c WHERE c.id = s.source_id
                AND c.status = 'approved' AND c.decided_on = s.completed_on))"""))
        if orphans:
            raise SystemExit(f"{orphans} step rows without the record that completes them")
        checks["steps backed by their records"] = "all"
        db.session.remove()
        db.engine.dispose()
    return checks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", "-n", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: $DATABASE_URL, else bench/data/bench-N.sqlite")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--force", action="store_true", help="rebuild even when a build for these settings exists")
    parser.add_argument("--verify", action="store_true", help="check the result with the app's own tally check")
    args = parser.parse_args(argv)
    url = args.database_url or os.environ.get("DATABASE_URL") or default_url(args.participants)
    summary = build(args.participants, url, args.seed, args.force, args.verify)
    if "verified" in summary:
        print("verified:", json.dumps(summary["verified"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
