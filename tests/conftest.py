"""Fixtures: the app on each test database, clients, users and logins.

Every test that uses ``app`` runs on SQLite, and on PostgreSQL too when ``TEST_DATABASE_URL``
is set. The schema is built by the migrations (from empty to head) once per database; each
test starts with regions loaded and every other table empty.
"""
import os
import re
import sqlite3

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData, select, text

from app import create_app
from app.auth.models import User
from app.auth.services import Wilayah, create_user
from app.extensions import db
from app.participants.models import DEFAULT_SECTORS, Sector
from app.regions.models import Kecamatan, Kota
from app.regions.services import load_regions

PASSWORD = "rahasia-uji-2026"
KEEP_TABLES = {"kota", "kecamatan", "kelurahan", "alembic_version"}
# Tests that need Redis use a database number of their own and clean only that one.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _reset_schema(engine) -> None:
    """Empty the database before the migrations build it: on PostgreSQL the whole schema (tables,
    the tallies' functions and triggers, extensions), so a database used by an earlier run can be
    used again."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        return
    meta = MetaData()
    meta.reflect(bind=engine)
    meta.drop_all(bind=engine)


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    return os.environ["TEST_DATABASE_URL"]


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    os.environ["APP_ENV"] = "testing"
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": None,
    })
    application.instance_path = str(tmp_path_factory.mktemp("instance"))
    with application.app_context():
        _reset_schema(db.engine)
        upgrade()
        load_regions()
        db.session.commit()
        application.extensions["test_template"] = _template_of(db.engine)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _template_of(engine):
    """SQLite: an in-memory copy of the freshly migrated database (regions loaded), restored after
    each test with SQLite's backup API, pages at a time, without firing a trigger per deleted row."""
    if engine.dialect.name != "sqlite":
        return None
    template = sqlite3.connect(":memory:", check_same_thread=False)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.backup(template)
    finally:
        raw.close()
    return template


def _restore(engine, template) -> None:
    raw = engine.raw_connection()
    try:
        template.backup(raw.driver_connection)
    finally:
        raw.close()


def _truncate(session) -> None:
    """PostgreSQL: one TRUNCATE of the tables that hold rows (no row triggers fire; the tallies
    are among the tables), then the seven default sectors the migration seeds."""
    tables = [t.name for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES | {"sector"}]
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    filled = [row[0] for row in session.execute(text(probe))]
    if filled:  # (a test that touched the sectors wrote other rows too: the audit log)
        session.execute(text(f"TRUNCATE {', '.join(filled + ['sector'])} CASCADE"))
        for position, (code, name) in enumerate(DEFAULT_SECTORS):
            session.add(Sector(code=code, name=name, position=position))
    session.commit()


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Back to the freshly migrated database (regions and default sectors) after each test that used it."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.rollback()
        db.session.remove()
        template = application.extensions["test_template"]
        if template is not None:
            _restore(db.engine, template)
        else:
            _truncate(db.session)
            db.session.remove()


@pytest.fixture
def redis_url():
    """The tests' own Redis database, empty before and after the test."""
    from redis import Redis

    client = Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


def kecamatan_by_code(code: str) -> Kecamatan:
    return db.session.scalars(select(Kecamatan).where(Kecamatan.code == code)).one()


@pytest.fixture
def make_user(app):
    """make_user(role, kecamatan='31.74.01' | kota='31.74' | province) -> User (committed)."""
    counter = {"n": 0}

    def factory(role: str = "staff", kecamatan: str | None = "31.74.01", kota: str | None = None,
                username: str | None = None, password: str = PASSWORD, active: bool = True) -> User:
        counter["n"] += 1
        with app.app_context():
            if kota:
                wilayah = Wilayah("kota", kota_id=db.session.scalars(select(Kota).where(Kota.code == kota)).one().id)
            elif kecamatan and role not in ("admin",):
                wilayah = Wilayah("kecamatan", kecamatan_id=kecamatan_by_code(kecamatan).id)
            else:
                wilayah = Wilayah("province")
            if role == "manager" and not kota:
                wilayah = Wilayah("province")
            user, _ = create_user(username or f"{role}{counter['n']}", f"{role.title()} Uji {counter['n']}", role,
                                  wilayah, password=password, must_change=False)
            user.active = active
            db.session.commit()
            user_id = user.id
        with app.app_context():
            return db.session.get(User, user_id)

    return factory


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, url: str = "/masuk") -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, next_url: str = ""):
    token = csrf_from(client, "/masuk")
    return client.post("/masuk", data={"csrf_token": token, "username": username, "password": password,
                                       "next": next_url})


@pytest.fixture
def login_as(client, make_user):
    """login_as(role, **scope) -> the logged-in User; ``client`` carries the session."""

    def do(role: str = "staff", **kwargs) -> User:
        user = make_user(role, **kwargs)
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


def post_form(client, url: str, data: dict, token_url: str = "/", **kwargs):
    """POST with a CSRF token taken from a page of the logged-in session."""
    payload = {"csrf_token": csrf_from(client, token_url), **data}
    return client.post(url, data=payload, **kwargs)


_nik_serial = {"n": 0}


def synthetic_nik(prefix: str = "317401", ddmmyy: str = "170885") -> str:
    """A valid, unique, synthetic NIK (serials from 9000 up, as in the shared test vectors)."""
    _nik_serial["n"] += 1
    return f"{prefix}{ddmmyy}{9000 + _nik_serial['n'] % 1000:04d}"


@pytest.fixture
def make_participant(app):
    """make_participant(kecamatan='31.74.01', channel='walkin', **fields) -> Participant id (committed)."""
    from app.participants.models import Sector
    from app.participants.services import Registration, register
    from app.regions.models import Kelurahan

    def factory(kecamatan: str = "31.74.01", channel: str = "walkin", **fields) -> int:
        with app.app_context():
            kec = kecamatan_by_code(kecamatan)
            kel = db.session.scalars(select(Kelurahan).where(Kelurahan.kecamatan_id == kec.id)
                                     .order_by(Kelurahan.code)).first()
            sector = db.session.scalars(select(Sector).where(Sector.code == "kuliner")).one()
            values = {"nik": synthetic_nik(kec.nik_prefix), "name": "Siti Aminah", "phone": "0812-3456-7890",
                      "kelurahan": kel.code, "business_name": "Warung Siti", "sector_id": sector.id,
                      "stage": "berjalan", **fields}
            participant = register(Registration(**values), kec, channel, None, confirmed={"identity", "duplicate"})
            db.session.commit()
            return participant.id

    return factory


@pytest.fixture
def make_course(app):
    """make_course(kecamatan='31.74.01', meetings=3, facilitator=None, days=[...]) -> course id."""
    from datetime import date, time, timedelta

    from app.training.services import MeetingInput, create_course

    def factory(kecamatan: str = "31.74.01", meetings: int = 3, facilitator=None, start: date | None = None,
                capacity: int = 100, min_meetings: int | None = None, title: str = "Dasar Usaha Kuliner") -> int:
        from app.core.timeutil import today_wib

        start = start or today_wib()
        with app.app_context():
            kec = kecamatan_by_code(kecamatan)
            inputs = [MeetingInput(date=start + timedelta(days=7 * i), start_time=time(9), end_time=time(12),
                                   venue="Aula Kantor Kecamatan", capacity=capacity) for i in range(meetings)]
            course = create_course(title, "Pemasaran dan pengemasan", kec, getattr(facilitator, "id", facilitator),
                                   min_meetings, inputs, None)
            db.session.commit()
            return course.id

    return factory


from tests.worker import queue_file, start_worker, worker  # noqa: E402,F401  (the real worker's fixtures)
