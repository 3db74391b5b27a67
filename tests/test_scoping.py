"""One scoping function for every query; a walk over every route as a user of another kecamatan."""
import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.scoping import NO_SCOPE, get_or_404, scoped
from app.extensions import db
from app.regions.models import Kecamatan, Kelurahan
from tests.conftest import csrf_from, kecamatan_by_code


def _count(model, scope):
    return db.session.scalar(select(func.count()).select_from(scoped(select(model), model, scope).subquery()))


def test_scope_by_level(app, make_user):
    province = make_user("manager")
    kota = make_user("manager", kota="31.74")
    tebet = make_user("staff", kecamatan="31.74.01")
    with app.app_context():
        scopes = {name: db.session.get(User, u.id).scope() for name, u in
                  (("province", province), ("kota", kota), ("tebet", tebet))}
        assert _count(Kecamatan, scopes["province"]) == 44
        assert _count(Kecamatan, scopes["kota"]) == 10
        assert _count(Kecamatan, scopes["tebet"]) == 1
        assert _count(Kelurahan, scopes["tebet"]) == 7
        assert _count(Kelurahan, scopes["kota"]) == 65
        assert _count(Kecamatan, NO_SCOPE) == 0


def test_get_or_404_refuses_out_of_scope(app, make_user):
    from werkzeug.exceptions import NotFound

    tebet = make_user("staff", kecamatan="31.74.01")
    with app.test_request_context():
        scope = db.session.get(User, tebet.id).scope()
        own = kecamatan_by_code("31.74.01")
        other = kecamatan_by_code("31.71.06")
        assert get_or_404(Kecamatan, own.id, scope).name == "Tebet"
        for ident in (other.id, "abc", None, 10**9):
            with pytest.raises(NotFound):
                get_or_404(Kecamatan, ident, scope)


def test_kota_manager_reaches_its_kecamatan_only(app, client, login_as):
    login_as("manager", kota="31.74")
    with app.app_context():
        tebet, menteng = kecamatan_by_code("31.74.01").id, kecamatan_by_code("31.71.06").id
    assert client.get(f"/dokumen/uji?kecamatan={tebet}").status_code == 200
    assert client.get(f"/dokumen/uji?kecamatan={menteng}").status_code == 404


def test_staff_is_refused_another_kecamatans_document(app, client, login_as):
    login_as("staff", kecamatan="31.74.01")
    with app.app_context():
        menteng = kecamatan_by_code("31.71.06").id
    response = client.get(f"/dokumen/uji?kecamatan={menteng}")
    assert response.status_code == 404
    assert "bukan wilayah Anda" in response.get_data(as_text=True)


# --- The route walk -----------------------------------------------------------------------
# For every URL argument, a record that belongs to ANOTHER kecamatan (Menteng) than the
# walker's (Tebet). A new route with an argument not listed here fails the walk, so each
# new kind of record must be added, and each new route is checked for scope automatically.

def foreign_ids(app, make_user, make_participant, make_course) -> dict:
    from app.participants.importer import save_upload
    from app.settings.services import save_letterhead

    from tests.test_steps import give_steps, set_mode

    menteng_staff = make_user("staff", kecamatan="31.71.06", username="walk.menteng")
    participant_id = make_participant(kecamatan="31.71.06")
    set_mode(app, "bebas")  # a sign-up below without the steps before P5
    give_steps(app, participant_id)  # registered 30 days ago: the records below are not dated before P1
    course_id = make_course(kecamatan="31.71.06")
    make_participant(kecamatan="31.71.06", channel="online", name="Pending Menteng")
    with app.app_context():
        menteng = kecamatan_by_code("31.71.06")
        save_letterhead(menteng, {"office_name": "Kantor Kecamatan Menteng"}, logo=_png())
        token = save_upload(menteng_staff.id, menteng.id, "x.csv", ["NIK"], [["1"]])
        from app.participants.models import Participant
        from app.training.models import Course
        from app.training.services import enroll

        course = db.session.get(Course, course_id)
        enrollment = enroll(course, [db.session.get(Participant, participant_id)], None)[0][0]
        from app.auth.models import User
        from app.training.services import issue_certificates, mark

        for meeting in course.meetings:
            mark(meeting, enrollment, "hadir", db.session.get(User, menteng_staff.id))
        db.session.flush()
        (certificate,) = issue_certificates(course, [enrollment], None)
        from app.business.services import add_capital
        from app.core.timeutil import today_wib
        from app.licensing.services import Signer, request_letter

        participant = db.session.get(Participant, participant_id)
        letter = request_letter(participant, Signer("Camat Menteng", "Camat Menteng"), None)
        application = add_capital(participant, "Bank DKI", "KUR", "1000000", today_wib(), None)
        from app.core.timeutil import today_wib
        from app.events.services import create_event, sign_up

        day = today_wib()
        event = create_event("bazar", "Bazar Menteng", menteng, "Taman", day, day, 10, day, day, None)
        signup = sign_up(event.id, participant, None)
        from app.participants.services import Registration, note_resubmission

        resubmission = note_resubmission(participant, Registration(name="Daftar Lagi"), menteng)
        from app.jobs.services import create_job

        job = create_job("participants.export", "Ekspor Menteng", menteng_staff, {"fmt": "csv", "args": {}})
        db.session.commit()
        from datetime import timedelta

        from app.reports.figures import monday_of
        from app.reports.submissions import freeze

        snapshot = freeze(menteng.id, monday_of(day) - timedelta(days=7), menteng_staff.id)  # last week, submitted
        db.session.commit()
        menteng_kelurahan = db.session.scalars(select(Kelurahan.id).where(Kelurahan.kecamatan_id == menteng.id)).first()
        return {"kecamatan_id": menteng.id, "kota_id": menteng.kota_id, "kelurahan_id": menteng_kelurahan,
                "user_id": menteng_staff.id, "participant_id": participant_id,
                "token": token, "course_id": course_id, "meeting_id": course.meetings[0].id,
                "enrollment_id": enrollment.id, "letter_id": letter.id, "application_id": application.id,
                "event_id": event.id, "signup_id": signup.id, "resubmission_id": resubmission.id,
                "job_id": job.id, "certificate_id": certificate.id, "snapshot_id": snapshot.id}


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


PUBLIC_ENDPOINTS = {"static", "auth.login", "main.health", "participants.online_done", "training.verify",
                    "licensing.verify_letter", "events.public_signup", "participants.check"}
# Arguments that name a format, not a record: such routes are lists, scoped like any list.
NON_RECORD_ARGS = {"fmt"}


@pytest.mark.parametrize("role", ["staff", "facilitator", "pendamping", "manager"])
def test_every_route_refuses_other_kecamatans_records(app, client, make_user, make_participant, make_course, role):
    ids = foreign_ids(app, make_user, make_participant, make_course)
    ids["fmt"] = "xlsx"  # a record's export in a real format must be refused too
    kwargs = {"kota": "31.74"} if role == "manager" else {"kecamatan": "31.74.01"}
    walker = make_user(role, **kwargs)
    from tests.conftest import login

    assert login(client, walker.username).status_code == 302
    token = csrf_from(client, "/")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or not rule.arguments or rule.arguments <= NON_RECORD_ARGS:
            continue
        missing = rule.arguments - ids.keys()
        assert not missing, f"route {rule.rule} has arguments {missing} unknown to the scope walk"
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(ids[arg]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code in (403, 404), f"{role} {method} {url} -> {response.status_code}"
            checked += 1
    assert checked >= 5


def test_a_participant_living_outside_the_registering_kecamatan(app, client, make_user, make_participant):
    """Registered in Tebet, living in Menteng: counted in Menteng (domicile); seen by the staff of
    both kecamatan and by the managers above them; the figures' lists hold exactly the count."""
    from app.participants.models import Participant
    from app.participants.services import record_step
    from app.core.timeutil import today_wib
    from datetime import timedelta
    from tests.conftest import login

    with app.app_context():
        menteng_kel = db.session.scalars(select(Kelurahan).join(Kecamatan).where(Kecamatan.code == "31.71.06")
                                         .order_by(Kelurahan.code)).first()
        kel_code, kel_id = menteng_kel.code, menteng_kel.id
    mover = make_participant(kelurahan=kel_code, name="Warga Menteng", nik="3174011708859950")
    at_home = make_participant(name="Warga Tebet", nik="3174011708859951")
    with app.app_context():
        db.session.get(Participant, mover).phone = None  # (an imported row without one)
        for pid in (mover, at_home):
            p = db.session.get(Participant, pid)
            record_step(p, 1, today_wib() - timedelta(days=3), "test")
            record_step(p, 2, today_wib() - timedelta(days=2), "test")
        db.session.commit()
    users = {"tebet": make_user("staff", username="meja.tebet"),
             "menteng": make_user("staff", kecamatan="31.71.06", username="meja.menteng"),
             "jakpus": make_user("manager", kecamatan=None, kota="31.71", username="sudin.jakpus"),
             "jaksel": make_user("manager", kecamatan=None, kota="31.74", username="sudin.jaksel"),
             "dinas": make_user("manager", kecamatan=None, username="dinas")}
    for name, user in users.items():
        viewer = app.test_client()
        login(viewer, user.username)
        # Whoever's kecamatan registered or houses the participant may open them.
        assert viewer.get(f"/peserta/{mover}").status_code == 200, name
        listing = viewer.get("/peserta?q=Warga+Menteng").get_data(as_text=True)
        assert '<p class="result-count" id="result-count">1 peserta</p>' in listing, name
    # Menteng's dashboard counts the participant in their kelurahan; its action link lists exactly them.
    viewer = app.test_client()
    login(viewer, "meja.menteng")
    with app.app_context():
        menteng_id = kecamatan_by_code("31.71.06").id
    board = viewer.get(f"/dasbor/kecamatan/{menteng_id}").get_data(as_text=True)
    link = f"/peserta?kelurahan={kel_id}&amp;aksi=latih_belum_izin"
    assert f'href="{link}"' in board and re.search(rf'href="{re.escape(link)}"[^>]*>1</a>', board)
    for name in ("menteng", "jakpus", "dinas"):  # everyone whose dashboard shows that kelurahan
        viewer = app.test_client()
        login(viewer, users[name].username)
        answer = viewer.get(link.replace("&amp;", "&"))
        assert '<p class="result-count" id="result-count">1 peserta</p>' in answer.get_data(as_text=True), name
    # Every number on every dashboard these users see (their own, and Menteng's for those above it)
    # links to a list of exactly that length.
    from tests.test_figures import assert_links_match, figure_links

    for name, user in users.items():
        viewer = app.test_client()
        login(viewer, user.username)
        pages = ["/dasbor", "/laporan/mingguan"] + ([f"/dasbor/kecamatan/{menteng_id}"]
                                                    if name in ("menteng", "jakpus", "dinas") else [])
        for page in pages:
            html = viewer.get(page).get_data(as_text=True)
            assert assert_links_match(viewer, html, f"{name} {page}") >= 15, (name, page)
            if page.endswith(str(menteng_id)) or name in ("menteng", "jakpus"):
                assert re.search(r'data-count="1">1</a>', html), (name, page)  # the mover counted there
            if page == "/laporan/mingguan":  # the mover has no phone: counted (and listed) where they live
                no_phone = dict(figure_links(html))
                expected = 1 if name in ("menteng", "jakpus", "dinas") else 0
                assert [n for href, n in no_phone.items() if "tanpa_hp" in href][:1] == [expected], (name, page)
    # The NIK check at Menteng's desk offers to open the record; elsewhere it offers no link.
    viewer = app.test_client()
    login(viewer, "meja.menteng")
    check = {"nik": "3174011708859950", "csrf_token": csrf_from(viewer, "/peserta/daftar")}
    known = viewer.post("/peserta/cek-nik", data=check, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'href="/peserta/{mover}"' in known and "Warga Menteng" in known
    # Another kecamatan sees neither, and is offered no link it could not follow.
    make_user("staff", kecamatan="31.71.01", username="meja.gambir")
    viewer = app.test_client()
    login(viewer, "meja.gambir")
    assert viewer.get(f"/peserta/{mover}").status_code == 404
    assert viewer.get(f"/peserta/{at_home}").status_code == 404
    check["csrf_token"] = csrf_from(viewer, "/peserta/daftar")
    known = viewer.post("/peserta/cek-nik", data=check, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "NIK ini sudah terdaftar" in known and f"/peserta/{mover}" not in known and "Warga Menteng" not in known


@pytest.mark.parametrize("role", ["staff", "pendamping"])
def test_a_regional_scope_read_in_parts_is_the_whole_scope(app, make_user, role):
    """The two parts a desk's list is read in on PostgreSQL (registered by the kecamatan; living in
    it, registered elsewhere) are disjoint and together the scope, for a desk and for a pendamping;
    the list, sorted each way and filtered, shows exactly the scope's rows."""
    from sqlalchemy import update

    from app.participants.models import Participant
    from app.participants.queries import participant_ids
    from tests.test_reports import Person, insert_people, kelurahan_of

    user = make_user(role, username=f"bagian.{role}")
    with app.app_context():
        (kel_a, kec_a), (kel_b, kec_b) = kelurahan_of(kecamatan_code="31.74.01")[0], kelurahan_of(kecamatan_code="31.71.06")[0]
        people = [Person(kel, kec, name=f"Warga {label} {i}") for i in range(3)
                  for label, kel, kec in (("AA", kel_a, kec_a), ("BA", kel_a, kec_b), ("AB", kel_b, kec_a), ("BB", kel_b, kec_b))]
        ids = insert_people(people)
        db.session.execute(update(Participant).where(Participant.id.in_(ids[:8])).values(pendamping_id=user.id))
        db.session.commit()
        scope = db.session.get(type(user), user.id).scope()
        whole = set(db.session.scalars(select(Participant.id).where(Participant.scope_clause(scope))))
        parts = [set(db.session.scalars(select(Participant.id).where(part))) for part in Participant.scope_parts(scope)]
        assert parts[0] | parts[1] == whole and not parts[0] & parts[1] and whole
        names = {p.name.rsplit(" ", 1)[0] for p in db.session.scalars(select(Participant).where(Participant.id.in_(whole)))}
        assert names == {"Warga AA", "Warga BA", "Warga AB"}
        assert len(whole) == (9 if role == "staff" else 6)  # a pendamping: only those assigned to them
        from flask_login import login_user
        with app.test_request_context():
            login_user(db.session.get(type(user), user.id))
            for urut in ("baru", "lama", "nama", "nomor"):
                listed = db.session.scalars(participant_ids({"urut": urut}, scope)).all()
                assert sorted(listed) == sorted(whole) and len(listed) == len(set(listed))
            stepped = db.session.scalars(participant_ids({"status": "active", "urut": "nama"}, scope)).all()
            assert sorted(stepped) == sorted(whole)
