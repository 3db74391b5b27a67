"""No 5xx on hostile input (issue 13): every route, every role, hostile path, query and form values.

The sweep is a covering sample, not a cartesian product. Each walker (a user of each role, and
anonymous) first opens every route with real ids; the walkers a route lets in (not refused,
not sent to the login page) then share its hostile requests:
- each path slot gets every hostile id or string, the other slots real;
- each query parameter gets every hostile value over the route's rotated requests (request
  ``i`` gives parameter ``k`` value ``(k + i) mod n``, so one request mixes many values), half
  of them as htmx requests; likewise every form field of every POST route;
- NUL bytes and a broken CSRF token once per route.
A GET writes nothing but the audit entries of the logins and of printed or exported documents.
"""
import io
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from werkzeug.routing.converters import NumberConverter

from app.core.audit import AuditLog
from app.core.timeutil import today_wib
from app.extensions import db
from tests.conftest import CSRF_RE, kecamatan_by_code, login

APP_DIR = Path(__file__).resolve().parent.parent / "app"

# Pre-encoded query/form values (what follows ``name=`` on the wire).
LONG = "a" * 10_000
HOSTILE = [
    "99999999999999999999",          # beyond 64 bits
    "2147483648",                    # 2**31, beyond a 32-bit column
    "-1",
    "0",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "abc",
    "%ff%fe",                        # not UTF-8
    LONG,
    quote("' OR 1=1 --"),
]
NUL = "%00"
# Hostile values for an ``int`` path slot, and for a string slot (tokens, verification codes, formats).
HOSTILE_IDS = ["99999999999999999999", "2147483648", "2147483647", "0", "-1", "%ff%fe"]
# An id a URL may carry (1 to 2**31 - 1, the INTEGER columns' range) that is no record: it reaches the view.
IN_RANGE_IDS = ["2147483647"]
HOSTILE_STRINGS = ["%ff%fe", "%00", LONG, quote("' OR 1=1 --"), "..%2F..%2Fetc%2Fpasswd", "99999999999999999999",
                   quote("ÄÖÜ٣")]
# Query parameters the filter forms and views read (more are harvested from the source below).
QUERY_PARAMS = ["q", "hal", "dari", "sampai", "tanggal", "minggu", "kelurahan", "kecamatan", "kota", "status",
                "aksi", "langkah", "step", "channel", "sektor", "urut", "filter", "kertas", "naik", "ubah",
                "berizin", "tanpa", "belum_p2", "pengguna", "tindakan", "role", "next", "bulan", "tahun"]
# Audit actions a GET may write: the login itself, and the record of who printed or exported what.
GET_AUDIT_ACTIONS = re.compile(r"^(user\.login|document\.|export\.)")
SKIP_ENDPOINTS = {"static"}
# Logging out ends the walker's session: posted last, once per role.
LAST_ENDPOINTS = {"auth.logout"}


def _harvest(pattern: str, folder: Path, glob: str) -> set[str]:
    names = set()
    for path in folder.rglob(glob):
        names.update(re.findall(pattern, path.read_text(encoding="utf-8")))
    return names


def query_params() -> list[str]:
    found = _harvest(r'request\.(?:args|values)(?:\.get(?:list)?\(|\[)\s*"([A-Za-z_][\w]*)"', APP_DIR, "*.py")
    return sorted(set(QUERY_PARAMS) | found)


def form_fields() -> list[str]:
    """Every field name of the app's forms (the app's views imported them all): FlaskForm classes,
    template inputs, request.form reads, the course form's first meeting and the event form's quotas."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    from app.participants.models import Sector

    names, stack = set(), [FlaskForm]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        names.update(name for name, value in vars(cls).items() if isinstance(value, UnboundField))
    names |= _harvest(r'name="([A-Za-z_][\w-]*)"', APP_DIR / "templates", "*.html")
    names |= _harvest(r'request\.(?:form|values)(?:\.get(?:list)?\(|\[)\s*"([A-Za-z_][\w]*)"', APP_DIR, "*.py")
    names.update(f"meetings-0-{name}" for name in ("date", "start_time", "end_time", "venue", "capacity"))
    names.update(f"quota_{ident}" for ident in db.session.scalars(select(Sector.id)))
    names.discard("csrf_token")
    return sorted(names)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def seed(app, make_user, make_participant, make_course) -> tuple[dict, dict]:
    """The walkers (by role) and one real record of each kind in Tebet; returns (users, ids)."""
    users = {
        "admin": make_user("admin"),
        "manager": make_user("manager"),
        "manager_kota": make_user("manager", kota="31.74"),
        "staff": make_user("staff"),
        "facilitator": make_user("facilitator"),
        "pendamping": make_user("pendamping"),
    }
    target = make_user("staff", username="hostile.target")
    from tests.test_steps import give_steps, set_mode

    participant_id = make_participant()
    set_mode(app, "bebas")  # a sign-up below without the steps before P5
    give_steps(app, participant_id)  # registered 30 days ago: the records below are not dated before P1
    make_participant(channel="online", name="Calon Peserta Daring")
    course_id = make_course(meetings=1, start=today_wib(), facilitator=users["facilitator"])
    with app.app_context():
        from app.business.services import add_capital
        from app.events.services import create_event, sign_up
        from app.licensing.services import Signer, request_letter
        from app.mentoring.services import assign
        from app.participants.importer import save_upload
        from app.participants.models import Participant
        from app.participants.services import Registration, note_resubmission
        from app.regions.models import Kelurahan
        from app.settings.services import save_letterhead
        from app.training.models import Course
        from app.participants.sharing import check_token
        from app.training.services import enroll, issue_certificates, mark

        tebet = kecamatan_by_code("31.74.01")
        staff = db.session.get(type(users["staff"]), users["staff"].id)
        participant = db.session.get(Participant, participant_id)
        assign([participant], users["pendamping"].id)
        resubmission = note_resubmission(participant, Registration(name="Siti Aminah", phone="081234567890"), tebet)
        save_letterhead(tebet, {"office_name": "Kantor Kecamatan Tebet"}, logo=_png())
        token = save_upload(staff.id, tebet.id, "x.csv", ["NIK", "Nama"], [["3174011708859001", "Siti"]])
        course = db.session.get(Course, course_id)
        enrollment = enroll(course, [participant], None)[0][0]
        meeting = course.meetings[0]
        mark(meeting, enrollment, "hadir", staff)
        certificate = issue_certificates(course, [enrollment], staff)[0]
        letter = request_letter(participant, Signer("Camat Tebet", "Camat Tebet"), None)
        application = add_capital(participant, "Bank DKI", "KUR", "1000000", today_wib() - timedelta(days=3), None)
        day = today_wib()
        event = create_event("bazar", "Bazar Tebet", tebet, "Lapangan", day + timedelta(days=1),
                             day + timedelta(days=1), 10, day, day + timedelta(days=1), None)
        signup = sign_up(event.id, participant, None)
        from app.jobs.services import claim, create_job, finish

        job = create_job("participants.export", "Ekspor Tebet", staff, {"fmt": "csv", "args": {}}, total=1)
        db.session.flush()
        finish(claim(job.id), file=("peserta.csv", "text/csv", io.BytesIO(b"NIK\n")))
        db.session.commit()
        from app.reports.figures import monday_of
        from app.reports.submissions import build_files, decide, freeze

        snapshot = freeze(tebet.id, monday_of(day) - timedelta(days=7), staff.id)
        db.session.commit()
        decide(snapshot.submission, users["manager_kota"].id, True)
        db.session.commit()
        with app.test_request_context():
            build_files(snapshot.id)
        kelurahan_id = db.session.scalars(select(Kelurahan.id).where(Kelurahan.kecamatan_id == tebet.id)).first()
        ids = {"kecamatan_id": tebet.id, "kota_id": tebet.kota_id, "kelurahan_id": kelurahan_id,
               "user_id": target.id, "participant_id": participant_id, "token": token, "course_id": course_id,
               "meeting_id": meeting.id, "enrollment_id": enrollment.id, "letter_id": letter.id,
               "application_id": application.id, "event_id": event.id, "signup_id": signup.id,
               "resubmission_id": resubmission.id, "job_id": job.id, "certificate_id": certificate.id,
               "token:participants.check": check_token(participant),
               "code:training.verify": certificate.code, "code:licensing.verify_letter": letter.code,
               "fmt": "xlsx", "fmt:reports.weekly_file": "pdf",
               "snapshot_id": snapshot.id}
    return users, ids


def row_counts() -> Counter:
    counts = Counter()
    for table in db.metadata.sorted_tables:
        if table.name == AuditLog.__tablename__ or "session" in table.name:  # sessions: written by logins
            continue
        counts[table.name] = db.session.scalar(select(func.count()).select_from(table))
    for action, n in db.session.execute(select(AuditLog.action, func.count()).group_by(AuditLog.action)):
        if not GET_AUDIT_ACTIONS.match(action):
            counts[f"audit_log:{action}"] = n
    return counts


def url_variants(rule, ids: dict, hostile_ids: list[str] = HOSTILE_IDS) -> list[str]:
    """The rule with real ids, then each slot in turn with each hostile value."""
    def real(arg):
        value = ids.get(f"{arg}:{rule.endpoint}", ids.get(arg))
        assert value is not None, f"route {rule.rule}: no real value for <{arg}>; add one to seed()"
        return str(value)

    def build(values):
        url = rule.rule
        for arg, value in values.items():
            url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", value, url)
        return url

    args = sorted(rule.arguments)
    base = {arg: real(arg) for arg in args}
    variants = [build(base)]
    for arg in args:
        hostile = hostile_ids if isinstance(rule._converters[arg], NumberConverter) else HOSTILE_STRINGS
        variants += [build({**base, arg: value}) for value in hostile]
    return variants


def rotated(names: list[str], i: int, values: list[str] = HOSTILE) -> str:
    return "&".join(f"{name}={values[(k + i) % len(values)]}" for k, name in enumerate(names))


def share(admitted: list[int], i: int):
    """Request ``i`` of a route goes to this walker, as htmx every other round, so each walker gets both."""
    return admitted[i % len(admitted)], bool((i // len(admitted) + i) % 2)


class Sweep:
    """Sends requests, records every 5xx and exception (TESTING propagates them; each is a 500 in
    production), and which walkers each route lets in."""

    def __init__(self, app, walkers: list):
        self.app = app
        self.walkers = walkers
        self.failures: list[str] = []
        self.kinds: Counter = Counter()
        self.requests = 0
        self.seconds: Counter = Counter()

    def send(self, walker: int, method: str, url: str, rule, htmx: bool = False, data: str | None = None,
             token: str | None = None):
        name, client = self.walkers[walker]
        headers = {"HX-Request": "true"} if htmx else {}
        if token and htmx:
            headers["X-CSRFToken"] = token
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.requests += 1
        started = time.perf_counter()
        try:
            response = client.open(url, method=method, data=data, headers=headers)
        except Exception as exc:
            self._fail(name, method, url, rule, f"{type(exc).__name__}: {str(exc)[:100]}")
            with self.app.app_context():
                db.session.rollback()
            return None
        response.close()
        self.seconds[f"{method} {rule.rule}"] += time.perf_counter() - started
        if response.status_code >= 500:
            self._fail(name, method, url, rule, str(response.status_code))
        return response

    def _fail(self, name, method, url, rule, what):
        self.failures.append(f"{name} {method} {url[:160]} -> {what}")
        self.kinds[f"{method} {rule.rule} {what[:90]}"] += 1

    def sweep_route(self, t: int, method: str, rule, base: str, names: list[str],
                    tokens: list[str] | None = None) -> list[int]:
        """Every rotation of hostile values over ``names`` (query parameters, or form fields for a POST).

        Each walker sends one (alternately as htmx); the walkers the route lets in (not refused, not
        sent to the login page) are returned and take over the rotations of the others."""
        def send(walker, i, htmx):
            if tokens is None:
                return self.send(walker, method, f"{base}?{rotated(names, i)}", rule, htmx=htmx)
            body = f"csrf_token={quote(tokens[walker])}&{rotated(names, i)}"
            return self.send(walker, method, base, rule, htmx=htmx, data=body, token=tokens[walker])

        admitted, done = [], set()
        for walker in range(len(self.walkers)):
            i = (t + walker) % len(HOSTILE)
            response = send(walker, i, bool((walker + t) % 2))
            if response is not None and response.status_code != 403 and not (
                    response.status_code == 302 and "/masuk" in response.headers.get("Location", "")):
                admitted.append(walker)
                done.add(i)
        admitted = admitted or list(range(len(self.walkers)))
        for k, i in enumerate(i for i in range(len(HOSTILE)) if i not in done):
            walker, htmx = share(admitted, t + k + 1)
            send(walker, i, htmx)
        return admitted


def _token(client, anonymous: bool) -> str:
    for url in (("/masuk",) if anonymous else ("/", "/akun/sandi")):
        match = CSRF_RE.search(client.get(url).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no CSRF token on any page")


class _LayoutFreeHTML:
    """WeasyPrint's HTML, minus the layout: the Jinja template still renders with every hostile
    value (that is where they go), the costly page layout is left to the PDF tests."""

    def __init__(self, string: str, **_kwargs):
        self.string = string

    def write_pdf(self) -> bytes:
        """A real one-page PDF (the WhatsApp images rasterise it) holding the rendered HTML in a stream."""
        import pydyf

        pdf = pydyf.PDF()
        page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "MediaBox": [0, 0, 595, 842]})
        pdf.add_object(page)
        pdf.pages["Kids"].append(page.reference)
        pdf.pages["Count"] += 1
        pdf.add_object(pydyf.Stream([self.string.encode()]))
        out = io.BytesIO()
        pdf.write(out)
        return out.getvalue()


def test_no_5xx_on_hostile_input(app, make_user, make_participant, make_course, monkeypatch):
    monkeypatch.setattr("weasyprint.HTML", _LayoutFreeHTML)
    started, cpu = time.perf_counter(), time.process_time()
    users, ids = seed(app, make_user, make_participant, make_course)
    walkers = []
    for name, user in [*users.items(), ("anonymous", None)]:
        client = app.test_client()
        if user is not None:
            assert login(client, user.username).status_code == 302
        walkers.append((name, client))
    tokens = [_token(client, name == "anonymous") for name, client in walkers]
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS),
                   key=lambda r: (r.endpoint in LAST_ENDPOINTS, r.rule))
    params = query_params()
    with app.app_context():
        fields = form_fields()
    sweep = Sweep(app, walkers)
    with app.app_context():
        before = row_counts()

    for t, rule in enumerate(r for r in rules if "GET" in r.methods):
        base, *hostile_urls = url_variants(rule, ids)
        admitted = sweep.sweep_route(t, "GET", rule, base, params)
        for j, url in enumerate(hostile_urls):
            walker, htmx = share(admitted, t + j)
            sweep.send(walker, "GET", url, rule, htmx=htmx)
        sweep.send(admitted[t % len(admitted)], "GET", f"{base}?q={NUL}&hal=1&dari=%00", rule)
    with app.app_context():
        after = row_counts()
    written = {k: (before[k], after[k]) for k in before | after if before[k] != after[k]}
    get_time = time.perf_counter() - started
    for name, client in walkers[:-1]:  # the sweep is worth something only if the walkers are still logged in
        assert client.get("/").status_code == 200, f"{name} was logged out by the GET sweep"

    for t, rule in enumerate(r for r in rules if "POST" in r.methods):
        # Routing refuses most hostile ids whatever the method: the GET sweep tried those.
        base, *hostile_urls = url_variants(rule, ids, HOSTILE_IDS if "GET" not in rule.methods else IN_RANGE_IDS)
        admitted = sweep.sweep_route(t, "POST", rule, base, fields, tokens)
        for j, url in enumerate(hostile_urls):
            walker, htmx = share(admitted, t + j)
            body = f"csrf_token={quote(tokens[walker])}&{rotated(fields, j)}"
            sweep.send(walker, "POST", url, rule, htmx=htmx, data=body, token=tokens[walker])
        walker = admitted[t % len(admitted)]
        sweep.send(walker, "POST", base, rule,
                   data=f"csrf_token={quote(tokens[walker])}&{rotated(fields, 0, [NUL])}")
        sweep.send(walker, "POST", base, rule, data="csrf_token=%ff%fe&q=1")

    elapsed = time.perf_counter() - started
    print(f"\nhostile sweep: {sweep.requests} requests in {elapsed:.1f}s, CPU {time.process_time() - cpu:.1f}s "
          f"(GET part {get_time:.1f}s)")
    print("slowest routes: " + ", ".join(f"{k} {v:.1f}s" for k, v in sweep.seconds.most_common(5)))
    kinds = "\n".join(f"{n:4d}x {k}" for k, n in sorted(sweep.kinds.items()))
    assert not sweep.failures, f"{len(sweep.failures)} failures, by route:\n{kinds}\nfirst ones:\n" + "\n".join(
        sweep.failures[:20])
    assert not written, f"the GET sweep wrote rows: {written}"


# --- The mechanisms the sweep relies on ------------------------------------------------------

def test_ids_are_what_the_integer_columns_hold():
    from app.core.converters import MAX_ID, parse_id, parse_ids

    assert MAX_ID == 2**31 - 1
    assert (parse_id("12"), parse_id(" 12 "), parse_id(7), parse_id(str(MAX_ID))) == (12, 12, 7, MAX_ID)
    for bad in (None, "", "0", "-1", "+5", "1.5", "١٢", "abc", str(MAX_ID + 1), "9" * 20, "9" * 5000, True, 0, 2**63):
        assert parse_id(bad) is None, bad
    assert parse_ids(["3", "x", "2147483648", "4", "5"], 2) == [3, 4]


def test_ids_beyond_the_range_are_not_found(app, client, login_as, make_participant):
    login_as("staff")
    participant_id = make_participant()
    assert client.get(f"/peserta/{participant_id}").status_code == 200
    for ident in ("99999999999999999999", "2147483648", "2147483647", "0", "-1", "١"):
        assert client.get(f"/peserta/{ident}").status_code == 404, ident
    assert client.get("/peserta?kelurahan=99999999999999999999&hal=99999999999999999999").status_code == 200


def test_dates_outside_1900_to_2100_are_refused_like_impossible_ones(app, client, login_as):
    from app.core.timeutil import parse_date

    assert parse_date("2026-11-23").isoformat() == "2026-11-23"
    for bad in ("9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", "2026-02-30", "abc", "", None, "2026-1-1"):
        assert parse_date(bad) is None, bad
    login_as("staff")
    for day in ("9999-12-31", "0001-01-01"):
        weekly = client.get(f"/laporan/mingguan?minggu={day}")
        assert weekly.status_code < 500 and "Tanggal di luar rentang" in weekly.get_data(as_text=True)
        listing = client.get(f"/peserta?dari={day}&sampai={day}")
        assert listing.status_code == 200 and "Tanggal di luar rentang" in listing.get_data(as_text=True)
    assert client.get("/peserta/kartu.pdf?tanggal=9999-12-31").status_code == 404


def test_search_without_htmx_is_the_whole_page_with_its_results(app, client, login_as, make_participant, make_course):
    from tests.test_events import make_event

    login_as("staff")
    make_participant(name="Rina Kusuma")
    event_id, course_id = make_event(app), make_course()
    for url, page_text in ((f"/acara/{event_id}/cari-peserta?q=Rina", "stan terisi"),
                           (f"/pelatihan/{course_id}/cari-peserta?q=Rina", "kursi terisi")):
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "<html" in html and page_text in html and "Rina Kusuma" in html, url
        fragment = client.get(url, headers={"HX-Request": "true"})
        html = fragment.get_data(as_text=True)
        assert "<html" not in html and page_text not in html and "Rina Kusuma" in html, url
        assert "HX-Request" in fragment.headers["Vary"]


def test_reading_the_program_settings_writes_nothing(app, client, login_as):
    from app.settings.models import ProgramSetting

    login_as("admin")
    assert 'value="40000"' in client.get("/pengaturan").get_data(as_text=True)
    assert client.get("/dasbor").status_code == 200
    assert client.get("/laporan/mingguan.csv").status_code == 200
    with app.app_context():
        assert db.session.get(ProgramSetting, 1) is None
