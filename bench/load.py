"""Drive the production server with many clients: ``python bench/load.py [--participants N] ...``.

1. builds (or reuses) the database of N participants (bench/build.py);
2. starts the app under gunicorn with the project's gunicorn.conf.py on a loopback port, and a bare
   Flask route (bench/floor.py) under the same settings: the framework floor;
3. from this process (a separate one from the server), clients with real sessions (they log in
   through /masuk with the CSRF token of the page) send the operations below:
   (a) saturation: for each operation C clients in a closed loop for ``--duration`` seconds, and
       the floor driven the same way with the same number of clients: req/s, p50/p95/p99, errors,
       and the operation's throughput as a share of the floor's;
   (b) the province's busy hour, open loop: requests are due on a fixed schedule whether or not
       earlier ones have finished (latency counts from the moment a request was due): 44 desks with
       a live NIK check every 2 s, a registration every minute, a search and a participant page
       every 10 s; 88 facilitators each tapping once a second; 10 managers each opening a
       dashboard every 10 s (~120 requests/s) for ``--busy-duration`` seconds;
4. records the workers' memory (RSS) before and after, and writes the figures as JSON and Markdown
   into bench/results/.

The client is the standard library's http.client on threads (no dependency to pin); gunicorn's
sync workers close each connection after its answer, so every request opens its own, as a browser
behind nginx would to the upstream. Every answer is checked (status and a piece of its content);
an answer that fails the check counts as an error.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402  (bench/build.py)

ROOT = build.ROOT
RESULTS = ROOT / "bench" / "results"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- HTTP ---------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Session:
    """One client: its cookies and CSRF token; one connection per request."""

    def __init__(self, port: int, username: str | None = None):
        self.port, self.username = port, username
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def send(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
             body: bytes | None = None, timeout: float = 120) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
            for raw in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(raw).items():
                    self.cookies[name] = morsel.value
            return Answer(response.status, dict(response.headers), data)
        finally:
            conn.close()

    def login(self, password: str = build.BENCH_PASSWORD) -> "Session":
        page = self.send("GET", "/masuk")
        token = CSRF_RE.search(page.text).group(1)
        answer = self.send("POST", "/masuk", {"csrf_token": token, "username": self.username, "password": password,
                                              "next": ""})
        if answer.status != 302:
            raise RuntimeError(f"login of {self.username} failed: {answer.status} {answer.text[:300]}")
        home = self.send("GET", "/peserta/antrean" if "petugas" in self.username else "/")
        match = CSRF_RE.search(home.text) or CSRF_RE.search(self.send("GET", "/akun/sandi").text)
        self.csrf = match.group(1)
        return self


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Servers --------------------------------------------------------------------------------------

class Server:
    """gunicorn -c gunicorn.conf.py APP on a free loopback port; the log goes to a file."""

    def __init__(self, wsgi: str, database_url: str, log: Path, workers: int | None = None):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "SECRET_KEY": "bench-" + secrets.token_hex(8), "APP_ENV": "development",
               # many clients log in from one address: the login limits would refuse them
               "LOGIN_RATE_LIMIT": "1000000 per minute", "LOGIN_ACCOUNT_LIMIT": "1000000 per minute",
               "IDLE_TIMEOUT_MINUTES": "240",
               # the province's weekly files are made by the worker in production; timed here in the
               # request, they measure that making (the job adds only the wait for the queue)
               "REPORT_FILE_JOB_LEVELS": ""}
        if workers:
            env["GUNICORN_WORKERS"] = str(workers)
        self.log = log
        self.out = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", wsgi], cwd=ROOT,
                                     env=env, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        probe = "/healthz" if wsgi == "wsgi:app" else "/"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                if Session(self.port).send("GET", probe, timeout=5).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"gunicorn did not answer within 90 s:\n{log.read_text()[-3000:]}")
        # every worker has booted (and imported the app) before anything is measured
        time.sleep(1.0)

    def workers(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(round(int(line.split()[1]) / 1024, 1))
            except OSError:
                pass
        return sorted(sizes)

    def errors(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines()
                if re.search(r'" 5\d\d ', line) or "Traceback" in line or "[ERROR]" in line
                or "database is locked" in line]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


# --- What the clients work on ----------------------------------------------------------------------

@dataclass
class Fixtures:
    kecamatan: list  # (id, nik_prefix, name, kota_id)
    kelurahan: dict  # kecamatan id -> [(id, code, label)]
    participants: dict  # kecamatan id -> [(id, nik, name, reg_number)]
    rosters: dict  # facilitator username -> (meeting id, [enrollment ids])
    kota: list
    kelurahan_ids: list
    sector_id: int
    staff: dict = field(default_factory=dict)  # kecamatan id -> username


def load_fixtures(url: str, per_kecamatan: int = 200) -> Fixtures:
    today = build.today_wib().isoformat()
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        q = lambda sql, *p: conn.execute(sql.replace("%s", "?"), p).fetchall()  # noqa: E731
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        q = lambda sql, *p: conn.execute(sql, p).fetchall()  # noqa: E731
    kecamatan = q("SELECT id, nik_prefix, name, kota_id FROM kecamatan ORDER BY id")
    kelurahan = defaultdict(list)
    for kid, code, name, kec_id, kec_name in q(
            "SELECT l.id, l.code, l.name, l.kecamatan_id, k.name FROM kelurahan l JOIN kecamatan k ON k.id = l.kecamatan_id"):
        kelurahan[kec_id].append((kid, code, f"{name} — Kec. {kec_name} ({code})"))
    participants = {}
    for kec_id, *_ in kecamatan:
        participants[kec_id] = q("SELECT id, nik, name, reg_number FROM participant WHERE kecamatan_id = %s AND "
                                 "status = 'active' AND kelurahan_id IN (SELECT id FROM kelurahan WHERE kecamatan_id = %s) "
                                 "ORDER BY id DESC LIMIT %s", kec_id, kec_id, per_kecamatan)
    rosters = {}
    for username, meeting_id, course_id in q(
            "SELECT u.username, m.id, c.id FROM meeting m JOIN course c ON c.id = m.course_id "
            "JOIN app_user u ON u.id = c.facilitator_id WHERE m.date = %s AND m.closed_at IS NULL "
            "AND u.username LIKE 'bench.fasil%%' ORDER BY m.id", today):
        rosters[username] = (meeting_id, [r[0] for r in q("SELECT id FROM enrollment WHERE course_id = %s ORDER BY id",
                                                          course_id)])
    staff = {kec: name for name, kec in q("SELECT username, kecamatan_id FROM app_user WHERE role = 'staff' "
                                          "AND username LIKE 'bench.%%'")}
    fixtures = Fixtures(kecamatan, dict(kelurahan), participants, rosters, [r[0] for r in q("SELECT id FROM kota")],
                        [r[0] for r in q("SELECT id FROM kelurahan ORDER BY id")],
                        q("SELECT id FROM sector ORDER BY id")[0][0], staff)
    conn.close()
    if not rosters:
        raise SystemExit(f"no open meeting today ({today}) in the database: rebuild it (bench/build.py --force)")
    return fixtures


# --- Operations --------------------------------------------------------------------------------------

class Check(Exception):
    pass


def expect(answer: Answer, status: int | tuple, marker: bytes | None = None, what: str = "") -> Answer:
    statuses = status if isinstance(status, tuple) else (status,)
    if answer.status not in statuses:
        raise Check(f"{what}: status {answer.status}, expected {status}: {answer.body[:200]!r}")
    if marker is not None and marker not in answer.body:
        raise Check(f"{what}: {marker!r} missing from the answer ({len(answer.body)} bytes): {answer.body[:300]!r}")
    return answer


HX = {"HX-Request": "true"}


class Ops:
    """Each operation: fn(client) -> None, raising Check when the answer is wrong. A client is a
    (Session, state dict); the role of the session is given by ROLE."""

    ROLE = {"nik_check": "staff", "register": "staff", "search_name": "staff", "search_nik": "staff",
            "participant_page": "staff", "roster": "facilitator", "tap": "facilitator",
            "dashboard_province": "province", "dashboard_kota": "province", "dashboard_kelurahan": "province",
            "weekly_screen": "province", "weekly_xlsx": "province", "weekly_pdf": "province", "online_queue": "staff",
            "import_preview": "staff", "export_csv": "staff", "healthz": "anonymous", "floor": "anonymous"}

    def __init__(self, fixtures: Fixtures, seed: int = 5):
        self.f = fixtures
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def _pick(self, items):
        with self.lock:
            return items[self.rng.randrange(len(items))]

    def _rand(self, n: int) -> int:
        with self.lock:
            return self.rng.randrange(n)

    def nik_check(self, s: Session, st: dict):
        pid, nik, name, _reg = self._pick(self.f.participants[st["kec"]])
        if self._rand(2):  # a registered NIK (the desk's own participant), or a new one
            a = s.send("POST", "/peserta/cek-nik", {"csrf_token": s.csrf, "nik": nik}, HX)
            expect(a, 200, b"sudah terdaftar", "nik_check known")
        else:
            a = s.send("POST", "/peserta/cek-nik", {"csrf_token": s.csrf, "nik": self._new_nik(st["prefix"])}, HX)
            expect(a, 200, b"belum terdaftar", "nik_check new")

    def _new_nik(self, prefix: str) -> str:
        """A NIK not registered yet: not from the seeded generator, which gives every run the same
        sequence (so the NIKs one run registered came up as "new" in the next and were found)."""
        born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(365 * 45))
        day = born.day + 40 * secrets.randbelow(2)
        return f"{prefix}{day:02d}{born.month:02d}{born.year % 100:02d}{8000 + secrets.randbelow(2000):04d}"

    def register(self, s: Session, st: dict):
        kel_id, code, label = self._pick(self.f.kelurahan[st["kec"]])
        first = self._pick(build.FIRST_F)
        form = {"csrf_token": s.csrf, "_once": secrets.token_urlsafe(24), "nik": self._new_nik(st["prefix"]),
                "name": f"{first} {self._pick(build.LAST)} Bench", "birth_date": "", "gender": "",
                "phone": f"0813{self._rand(10 ** 8):08d}", "email": "", "address": "Jl. Uji Beban 1",
                "kelurahan": label, "business_name": f"Warung {first}", "sector_id": str(self.f.sector_id),
                "stage": "berjalan", "confirm_identity": "y", "confirm_duplicate": "y"}
        a = s.send("POST", "/peserta/daftar", form)
        if a.status == 302 and "/terdaftar" in a.headers.get("Location", ""):
            return
        if a.status == 422 and b"sudah terdaftar" in a.body:  # a random NIK met an existing one
            return
        raise Check(f"register: {a.status} {a.headers.get('Location')} {a.body[:300]!r}")

    def search_name(self, s: Session, st: dict):
        _pid, _nik, name, _reg = self._pick(self.f.participants[st["kec"]])
        a = s.send("GET", "/peserta?q=" + quote(name), headers=HX)
        expect(a, 200, name.encode(), "search_name")

    def search_nik(self, s: Session, st: dict):
        _pid, nik, name, _reg = self._pick(self.f.participants[st["kec"]])
        a = s.send("GET", "/peserta?q=" + nik, headers=HX)
        expect(a, 200, name.encode(), "search_nik")

    def participant_page(self, s: Session, st: dict):
        pid, _nik, name, _reg = self._pick(self.f.participants[st["kec"]])
        expect(s.send("GET", f"/peserta/{pid}"), 200, name.encode(), "participant_page")

    def roster(self, s: Session, st: dict):
        meeting, enrollments = st["roster"]
        a = s.send("GET", f"/pertemuan/{meeting}")
        expect(a, 200, f"/pertemuan/{meeting}/tandai/{enrollments[-1]}".encode(), "roster")

    def tap(self, s: Session, st: dict):
        meeting, enrollments = st["roster"]
        eid = enrollments[self._rand(len(enrollments))]
        status = "hadir" if self._rand(10) else "terlambat"
        # As the roster's script sends it: a mark id (the once-token) and the time it was made.
        form = {"csrf_token": s.csrf, "_once": secrets.token_urlsafe(24), "status": status,
                "marked_at": str(int(time.time() * 1000))}
        a = s.send("POST", f"/pertemuan/{meeting}/tandai/{eid}", form, HX)
        expect(a, 200, f"/tandai/{eid}".encode(), "tap")

    def dashboard_province(self, s: Session, st: dict):
        expect(s.send("GET", "/dasbor"), 200, b'class="figure"', "dashboard_province")

    def dashboard_kota(self, s: Session, st: dict):
        expect(s.send("GET", f"/dasbor/kota/{self._pick(self.f.kota)}"), 200, b'class="figure"', "dashboard_kota")

    def dashboard_kelurahan(self, s: Session, st: dict):
        expect(s.send("GET", f"/dasbor/kelurahan/{self._pick(self.f.kelurahan_ids)}"), 200, b'class="figure"',
               "dashboard_kelurahan")

    def weekly_screen(self, s: Session, st: dict):
        expect(s.send("GET", "/laporan/mingguan"), 200, b"P4", "weekly_screen")

    def weekly_xlsx(self, s: Session, st: dict):
        a = expect(s.send("GET", "/laporan/mingguan.xlsx"), 200, None, "weekly_xlsx")
        if not a.body.startswith(b"PK"):
            raise Check("weekly_xlsx: not a zip (XLSX) file")

    def weekly_pdf(self, s: Session, st: dict):
        a = expect(s.send("GET", "/laporan/mingguan.pdf"), 200, None, "weekly_pdf")
        if not a.body.startswith(b"%PDF"):
            raise Check("weekly_pdf: not a PDF")

    def online_queue(self, s: Session, st: dict):
        expect(s.send("GET", "/peserta/antrean"), 200, b"csrf_token", "online_queue")

    def import_preview(self, s: Session, st: dict):
        token = st.get("import_token")
        if token is None:
            token = st["import_token"] = self._upload(s, st)
        form = {"csrf_token": s.csrf, "map_nik": "0", "map_name": "1", "map_kelurahan": "2", "map_phone": "3",
                "map_address": "4", "map_business_name": "5"}
        a = s.send("POST", f"/peserta/impor/{token}", form)
        expect(a, 200, b"5.000", "import_preview")  # the preview counts the file's 5,000 rows

    def _upload(self, s: Session, st: dict, rows: int = 5000) -> str:
        lines = ["NIK,Nama lengkap,Kelurahan,Nomor HP,Alamat,Nama usaha"]
        known = self.f.participants[st["kec"]]
        for i in range(rows):
            nik = known[i % len(known)][1] if i % 10 == 0 else self._new_nik(st["prefix"])
            kel = self._pick(self.f.kelurahan[st["kec"]])
            lines.append(f"{nik},{self._pick(build.FIRST_M)} {self._pick(build.LAST)},{kel[1]},"
                         f"0812{self._rand(10 ** 8):08d},Jl. Impor {i},Toko {i}")
        content = ("\n".join(lines) + "\n").encode()
        boundary = secrets.token_hex(12)
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{s.csrf}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\n'
                f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        a = s.send("POST", "/peserta/impor", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                   body=body)
        if a.status != 302:
            raise Check(f"import upload: {a.status} {a.body[:300]!r}")
        return a.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    def export_csv(self, s: Session, st: dict):
        a = expect(s.send("GET", "/peserta/ekspor.csv"), 200, None, "export_csv")
        if a.body.count(b"\n") < 2:
            raise Check("export_csv: no rows")

    def healthz(self, s: Session, st: dict):
        expect(s.send("GET", "/healthz"), 200, b"ok", "healthz")

    def floor(self, s: Session, st: dict):
        expect(s.send("GET", "/"), 200, b"ok", "floor")


# Saturation: operation -> concurrent clients (the issue's numbers).
SATURATION = [("floor", 10), ("healthz", 10), ("nik_check", 10), ("register", 10), ("search_name", 10),
              ("search_nik", 10), ("participant_page", 10), ("roster", 10), ("tap", 20), ("dashboard_province", 5),
              ("dashboard_kota", 5), ("dashboard_kelurahan", 5), ("weekly_screen", 5), ("weekly_xlsx", 5),
              ("weekly_pdf", 5), ("online_queue", 10), ("import_preview", 2), ("export_csv", 2)]


class Clients:
    """Logged-in sessions, made on first use: staff per kecamatan, facilitators with their rosters,
    managers (the province's and each kota's)."""

    def __init__(self, port: int, f: Fixtures):
        self.port, self.f = port, f
        self.pool: dict[str, list] = defaultdict(list)
        self.kec = {k[0]: k for k in f.kecamatan}

    def get(self, role: str, n: int) -> list[tuple[Session, dict]]:
        have = self.pool[role]
        missing = n - len(have)
        if missing > 0:
            with ThreadPoolExecutor(8) as pool:
                have += list(pool.map(lambda i: self._new(role, len(have) + i), range(missing)))
        return have[:n]

    def _new(self, role: str, i: int) -> tuple[Session, dict]:
        if role == "anonymous":
            return Session(self.port), {}
        if role == "staff":
            kec = self.f.kecamatan[i % len(self.f.kecamatan)][0]
            return Session(self.port, self.f.staff[kec]).login(), {"kec": kec, "prefix": self.kec[kec][1]}
        if role == "facilitator":
            names = sorted(self.f.rosters)
            # spread over kecamatan: 1st facilitators of every kecamatan first, then the 2nd ones
            names = sorted(names, key=lambda u: (u.rsplit(".", 1)[1], u))
            name = names[i % len(names)]
            return Session(self.port, name).login(), {"roster": self.f.rosters[name]}
        if role == "province":  # the Dinas manager: sees every kota and kelurahan
            return Session(self.port, "bench.dinas").login(), {}
        if role == "kota":  # a Sudin manager: the dashboard of their own kota
            return Session(self.port, f"bench.sudin{self.f.kota[i % len(self.f.kota)]}").login(), {}
        raise ValueError(role)


# --- Measuring ---------------------------------------------------------------------------------------

def summarise(latencies: list[float], errors: int, seconds: float, samples: list[str]) -> dict:
    ok = sorted(latencies)

    def pct(p):
        if not ok:
            return None
        return round(ok[min(len(ok) - 1, int(p / 100 * len(ok)))] * 1000, 1)

    return {"requests": len(ok) + errors, "ok": len(ok), "errors": errors, "seconds": round(seconds, 1),
            "rps": round(len(ok) / seconds, 1) if seconds else None, "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "max": round(ok[-1] * 1000, 1) if ok else None, "error_samples": samples[:3]}


def closed_loop(fn, clients: list, seconds: float, max_requests: int | None = None) -> dict:
    """Each client sends its next request as soon as its last was answered."""
    stop_at = time.monotonic() + seconds
    latencies, samples = [], []
    errors = [0]
    count = [0]
    lock = threading.Lock()

    def run(client):
        session, state = client
        while time.monotonic() < stop_at:
            with lock:
                if max_requests is not None and count[0] >= max_requests:
                    return
                count[0] += 1
            started = time.perf_counter()
            try:
                fn(session, state)
            except Exception as err:  # noqa: BLE001 - every failure is an error of the run
                with lock:
                    errors[0] += 1
                    samples.append(f"{type(err).__name__}: {err}"[:300])
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarise(latencies, errors[0], time.monotonic() - started, samples)


def open_loop(schedule: list[tuple[float, str, callable, tuple]], threads: int = 400, grace: float = 30) -> dict:
    """Requests due at fixed times (seconds from the start), whatever happened to earlier ones;
    each latency counts from the moment its request was due. A request still waiting for a free
    client thread ``grace`` seconds after the last one was due is not sent: it counts as an error
    ("not sent"), so a server that cannot keep up ends the run instead of draining a backlog."""
    jobs: queue.Queue = queue.Queue()
    results = defaultdict(lambda: {"lat": [], "errors": 0, "samples": []})
    lock = threading.Lock()
    late_start = [0]
    deadline = [float("inf")]

    def worker():
        while True:
            job = jobs.get()
            if job is None:
                return
            due, name, fn, client = job
            if time.perf_counter() > deadline[0]:
                with lock:
                    results[name]["errors"] += 1
                    results[name]["samples"].append("not sent: still waiting when the run ended")
                continue
            lag = time.perf_counter() - due
            try:
                fn(*client)
            except Exception as err:  # noqa: BLE001
                with lock:
                    results[name]["errors"] += 1
                    results[name]["samples"].append(f"{type(err).__name__}: {err}"[:300])
                continue
            with lock:
                results[name]["lat"].append(time.perf_counter() - due)
                if lag > 0.05:
                    late_start[0] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    origin = time.perf_counter() + 0.5
    deadline[0] = origin + (max(s[0] for s in schedule) if schedule else 0) + grace
    for offset, name, fn, client in sorted(schedule, key=lambda x: x[0]):
        due = origin + offset
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, name, fn, client))
    for _ in pool:
        jobs.put(None)
    for t in pool:
        t.join()
    span = max(s[0] for s in schedule) if schedule else 1
    out = {name: summarise(r["lat"], r["errors"], span, r["samples"]) for name, r in sorted(results.items())}
    out["_started_late"] = late_start[0]
    return out


def busy_hour_schedule(ops: Ops, clients: Clients, seconds: float, scale: float = 1.0) -> list:
    """The province's busy hour (issue 17): ~120 requests/s at scale 1."""
    rng = random.Random(11)
    schedule = []
    f = ops.f

    def every(period: float, name: str, fn, client):
        t = rng.uniform(0, period)
        while t < seconds:
            schedule.append((t, name, fn, client))
            t += period

    desks = clients.get("staff", max(1, round(44 * scale)))
    for client in desks:
        every(2.0, "nik_check", ops.nik_check, client)
        every(60.0, "register", ops.register, client)
        every(10.0, "search_name", ops.search_name, client)
        every(10.0, "participant_page", ops.participant_page, client)
    for client in clients.get("facilitator", max(1, round(88 * scale))):
        every(1.0, "tap", ops.tap, client)
    # 10 managers: 6 Sudin managers on their kota's dashboard, 4 at the Dinas (province, a kota, a kelurahan)
    managers = max(1, round(10 * scale))
    kota = clients.get("kota", min(6, managers))
    for client in kota:
        every(10.0, "dashboard", ops.dashboard_province, client)  # /dasbor: the user's own area
    dinas = [ops.dashboard_province, ops.dashboard_kota, ops.dashboard_kelurahan, ops.dashboard_kota]
    for i, client in enumerate(clients.get("province", managers - len(kota))):
        every(10.0, "dashboard", dinas[i % len(dinas)], client)
    return schedule


# --- The run -----------------------------------------------------------------------------------------

def versions(url: str) -> dict:
    from importlib.metadata import version

    import sqlalchemy

    out = {"python": platform.python_version(), "flask": version("flask"), "sqlalchemy": sqlalchemy.__version__,
           "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(), "machine": platform.machine(),
           "kernel": platform.release()}
    try:
        import gunicorn

        out["gunicorn"] = gunicorn.__version__
    except ImportError:
        pass
    if not url.startswith("sqlite"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            out["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    try:
        out["load_average_at_start"] = os.getloadavg()
        out["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (OSError, ValueError):
        pass
    return out


def run(args) -> dict:
    url = build.sized_url(args.database_url or os.environ.get("DATABASE_URL"), args.participants)
    dbname = "sqlite" if url.startswith("sqlite") else "postgresql"
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    summary = build.build(args.participants, url, force=args.force_build, verify=args.verify, log=say)
    fixtures = load_fixtures(url)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = f"{dbname}-{args.participants}"
    result = {"database": dbname, "participants": args.participants, "build": summary, "versions": versions(url),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "duration": args.duration,
              "busy_duration": args.busy_duration, "saturation": {}, "floor": {}}
    only = set(args.ops.split(",")) if args.ops else None
    plan = [(name, c) for name, c in SATURATION if only is None or name in only or name == "floor"]
    floor = Server("bench.floor:app", url, RESULTS / f"gunicorn-floor-{tag}.log", args.workers)
    app = Server("wsgi:app", url, RESULTS / f"gunicorn-app-{tag}.log", args.workers)
    try:
        result["workers"] = len(app.workers())
        result["rss_before_mib"] = app.rss_mib()
        ops = Ops(fixtures)
        clients = Clients(app.port, fixtures)
        floor_clients = Clients(floor.port, fixtures)
        for name, concurrency in plan:
            if name != "floor" and name in result["saturation"]:
                continue
            if concurrency not in result["floor"]:
                say(f"floor, {concurrency} clients ...")
                result["floor"][concurrency] = closed_loop(ops.floor, floor_clients.get("anonymous", concurrency),
                                                          args.duration, args.max_requests)
            if name == "floor":
                continue
            say(f"{name}, {concurrency} clients ...")
            role = Ops.ROLE[name]
            figures = closed_loop(getattr(ops, name), clients.get(role, concurrency), args.duration, args.max_requests)
            floor_rps = result["floor"][concurrency]["rps"]
            figures["clients"] = concurrency
            figures["floor_rps"] = floor_rps
            figures["ratio_to_floor"] = round(figures["rps"] / floor_rps, 3) if floor_rps and figures["rps"] else None
            result["saturation"][name] = figures
            say(f"  {figures['rps']} req/s, p50 {figures['p50']} p95 {figures['p95']} p99 {figures['p99']} ms, "
                f"{figures['errors']} errors; floor {floor_rps} req/s")
        if args.busy_duration > 0:
            say(f"busy hour, open loop, {args.busy_duration} s ...")
            schedule = busy_hour_schedule(ops, clients, args.busy_duration, args.busy_scale)
            result["busy_hour"] = {"planned_rps": round(len(schedule) / args.busy_duration, 1),
                                   "ops": open_loop(schedule)}
            for name, figures in result["busy_hour"]["ops"].items():
                if not name.startswith("_"):
                    say(f"  {name}: {figures['rps']} req/s, p50 {figures['p50']} p95 {figures['p95']} "
                        f"p99 {figures['p99']} ms, {figures['errors']} errors")
        result["rss_after_mib"] = app.rss_mib()
        result["server_errors"] = app.errors()[:20]
    finally:
        app.stop()
        floor.stop()
    if args.pdf and (ROOT / "bench" / "bench_pdf.py").exists():
        say("PDF batches (bench/bench_pdf.py) ...")
        env = {**os.environ, "DATABASE_URL": url}
        done = subprocess.run([sys.executable, "bench/bench_pdf.py"], cwd=ROOT, env=env, capture_output=True,
                              text=True)
        result["pdf"] = {"returncode": done.returncode, "output": done.stdout[-8000:], "stderr": done.stderr[-2000:]}
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    (RESULTS / f"{tag}.json").write_text(json.dumps(result, indent=1, default=str))
    (RESULTS / f"{tag}.md").write_text(markdown(result))
    say(f"written: bench/results/{tag}.json and .md")
    return result


def markdown(r: dict) -> str:
    lines = [f"### {r['database']}, {r['participants']:,} participants ({r['started']})", "",
             f"Build: {r['build'].get('seconds')} s. Workers: {r.get('workers')}. "
             f"Versions: {', '.join(f'{k} {v}' for k, v in r['versions'].items())}.", "",
             "Saturation (closed loop, each operation alone):", "",
             "| operation (clients) | req/s | p50 ms | p95 ms | p99 ms | errors | floor req/s | ratio to floor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, f in r["saturation"].items():
        lines.append(f"| {name} ({f['clients']}) | {f['rps']} | {f['p50']} | {f['p95']} | {f['p99']} | {f['errors']} "
                     f"| {f['floor_rps']} | {f['ratio_to_floor']} |")
    if "busy_hour" in r:
        b = r["busy_hour"]
        lines += ["", f"Busy hour (open loop, {r['busy_duration']} s, {b['planned_rps']} req/s planned; latency from "
                      f"the moment each request was due):", "",
                  "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, f in b["ops"].items():
            if not name.startswith("_"):
                lines.append(f"| {name} | {f['requests']} | {f['rps']} | {f['p50']} | {f['p95']} | {f['p99']} | "
                             f"{f['max']} | {f['errors']} |")
    lines += ["", f"Worker RSS (MiB) before: {r.get('rss_before_mib')}; after: {r.get('rss_after_mib')}.",
              f"Server log errors: {len(r.get('server_errors') or [])}."]
    errs = {n: f["error_samples"] for n, f in r["saturation"].items() if f.get("error_samples")}
    if errs:
        lines += ["", "Error samples: " + json.dumps(errs)[:2000]]
    if "pdf" in r:
        lines += ["", "PDF batches (bench/bench_pdf.py):", "", "```", r["pdf"]["output"].strip(), "```"]
    return "\n".join(lines) + "\n"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--participants", "-n", type=int, default=1_000_000)
    p.add_argument("--database-url", default=None)
    p.add_argument("--duration", type=float, default=20, help="seconds of closed loop per operation")
    p.add_argument("--busy-duration", type=float, default=120, help="seconds of the busy hour (0: skip)")
    p.add_argument("--busy-scale", type=float, default=1.0, help="share of the busy hour's clients")
    p.add_argument("--max-requests", type=int, default=None, help="stop each operation after this many requests")
    p.add_argument("--ops", default=None, help="comma-separated operations (default: all)")
    p.add_argument("--workers", type=int, default=None, help="GUNICORN_WORKERS (default: gunicorn.conf.py's)")
    p.add_argument("--force-build", action="store_true")
    p.add_argument("--verify", action="store_true", help="check the built database with the app's tally check")
    p.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip bench/bench_pdf.py")
    p.add_argument("--sizes", default=None, help="comma-separated N to run one after the other (growth table)")
    p.add_argument("--growth-duration", type=float, default=8, help="seconds per operation at the smaller sizes")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def growth_markdown(results: list[dict]) -> str:
    """How each operation's cost grows with N: p50 (ms) and req/s at saturation, per size."""
    sizes = [r["participants"] for r in results]
    ops = [name for name in results[-1]["saturation"]]
    lines = [f"### Growth, {results[-1]['database']}: p50 ms (req/s) at saturation", "",
             "| operation (clients) | " + " | ".join(f"{n:,}" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for name in ops:
        cells = []
        for r in results:
            f = r["saturation"].get(name)
            cells.append(f"{f['p50']} ({f['rps']})" if f else "—")
        clients = results[-1]["saturation"][name]["clients"]
        lines.append(f"| {name} ({clients}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse(argv)
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else [args.participants]
    sizes = sorted(sizes)
    results = []
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        run_args = argparse.Namespace(**{**vars(args), "participants": size})
        if not last:  # the smaller sizes show the growth: shorter runs, no busy hour, no PDF batches
            run_args.duration = args.growth_duration
            run_args.busy_duration = 0
            run_args.pdf = False
        results.append(run(run_args))
    if len(results) > 1:
        dbname = results[-1]["database"]
        (RESULTS / f"growth-{dbname}.md").write_text(growth_markdown(results))
        print(f"written: bench/results/growth-{dbname}.md", flush=True)


if __name__ == "__main__":
    main()
