"""Participant list (search, filters, sort, pagination, export), page, edit, cards, sectors."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from app.participants.models import Participant, Sector
from tests.conftest import post_form


@pytest.fixture
def three(make_participant):
    return {
        "siti": make_participant(nik="3174014503909902", name="Siti Aminah", phone="081311112222"),
        "budi": make_participant(nik="3174011708859903", name="Budi Santoso", phone="085722223333",
                                 kelurahan="31.74.01.1002", business_name="Bakso Budi"),
        "menteng": make_participant(kecamatan="31.71.06", nik="3171061708859904", name="Siti Menteng"),
    }


def _table(client, query="", **headers):
    return client.get(f"/peserta{query}", headers=headers).get_data(as_text=True)


def test_list_shows_only_own_kecamatan(client, login_as, three):
    login_as("staff")
    html = _table(client)
    assert "Siti Aminah" in html and "Budi Santoso" in html and "Siti Menteng" not in html
    assert "2 peserta" in html


def test_search_by_name_nik_phone_and_number(client, login_as, three):
    login_as("staff")
    assert "Siti Aminah" in _table(client, "?q=aminah") and "Budi" not in _table(client, "?q=aminah")
    assert "Siti Aminah" in _table(client, "?q=SITI")
    assert "Budi Santoso" in _table(client, "?q=3174011708859903")
    assert "Budi Santoso" in _table(client, "?q=0857-2222") and "Siti Aminah" not in _table(client, "?q=0857")
    assert "Siti Aminah" in _table(client, "?q=317401-2026-00001")
    assert "Tidak ada peserta yang cocok" in _table(client, "?q=zzzz")


def test_search_fragment_for_htmx(client, login_as, three):
    login_as("staff")
    fragment = _table(client, "?q=budi", **{"HX-Request": "true"})
    assert "<html" not in fragment and "Budi Santoso" in fragment and "1 peserta" in fragment
    page = client.get("/peserta?q=budi")
    assert "<html" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]


def test_filters(app, client, login_as, three, make_participant):
    login_as("staff")
    make_participant(nik="3174015505959905", name="Dewi Daring", channel="online")
    with app.app_context():
        kel = db.session.get(Participant, three["budi"]).kelurahan_id
    assert "Budi Santoso" in _table(client, f"?kelurahan={kel}") and "Siti Aminah" not in _table(client, f"?kelurahan={kel}")
    online = _table(client, "?channel=online")
    assert "Dewi Daring" in online and "Budi" not in online
    pending = _table(client, "?status=pending")
    assert "Dewi Daring" in pending and "1 peserta" in pending
    p1 = _table(client, "?step=1")
    assert "Dewi Daring" not in p1 and "3 peserta" not in p1 and "2 peserta" in p1
    assert "0 peserta" in _table(client, "?step=4")
    assert "0 peserta" in _table(client, "?dari=2000-01-01&sampai=2000-12-31")
    assert "Tidak ada peserta" not in _table(client, "?dari=2020-01-01")
    # Bad filter values are ignored, not errors.
    assert client.get("/peserta?dari=kemarin&step=99&kelurahan=abc").status_code == 200


def test_sort_and_pagination(app, client, login_as, make_participant):
    login_as("staff")
    for i, name in enumerate(["Citra", "Ani", "Bayu"]):
        make_participant(nik=f"31740117088599{10 + i}", name=name)
    html = _table(client, "?urut=nama")
    assert html.index("Ani") < html.index("Bayu") < html.index("Citra")
    app.config["PAGE_SIZE"] = 2
    try:
        first, second = _table(client, "?urut=nama"), _table(client, "?urut=nama&hal=2")
    finally:
        app.config["PAGE_SIZE"] = 50
    assert "1–2 dari 3" in first and "Citra" not in first and "Citra" in second



def test_search_counts_up_to_the_cap_and_says_more_beyond(app, client, login_as, monkeypatch):
    """The list counts at most LIST_COUNT_CAP + 1 matches: beyond the cap it says "lebih dari …",
    pages on while they come back full, and stops at the last one."""
    from tests.test_reports import Person, insert_people, kelurahan_of

    login_as("staff")
    with app.app_context():
        kel, kec = kelurahan_of(kecamatan_code="31.74.01")[0]
        insert_people([Person(kel, kec, name=f"Siti Aminah {i:03d}") for i in range(230)])
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 200)
    first = _table(client, "?q=aminah", **{"HX-Request": "true"})
    assert "lebih dari 200 peserta" in first and "1–50 dari lebih dari 200" in first
    assert 'rel="next"' in first and "Halaman 1<" in first
    last = _table(client, "?q=aminah&hal=5")
    assert "201–230 dari lebih dari 200" in last and 'rel="next"' not in last and 'rel="prev"' in last
    assert _table(client, "?q=aminah&hal=99999999999999999999").count("Siti Aminah") == 0   # no 5xx
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 300)
    exact = _table(client, "?q=aminah")
    assert "230 peserta" in exact and "1–50 dari 230" in exact and "Halaman 1 dari 5" in exact


def test_a_search_reads_the_search_index_once_per_page(app, client, login_as, monkeypatch):
    """The count and the page of a search come from one query of the matching ids (up to the cap),
    so the search index is read once per list, not once for the count and again for the page; the
    pages within the cap are the pages the list's order gives."""
    from sqlalchemy import event as sa_event

    from tests.test_reports import Person, insert_people, kelurahan_of

    login_as("staff")
    with app.app_context():
        kel, kec = kelurahan_of(kecamatan_code="31.74.01")[0]
        insert_people([Person(kel, kec, name=f"Siti Aminah {i:03d}") for i in range(130)])
        engine = db.engine
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 200)
    _table(client, "?q=aminah&urut=nama")  # warm up
    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        pages = [_table(client, f"?q=aminah&urut=nama&hal={n}", **{"HX-Request": "true"}) for n in (1, 2, 3)]
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)
    searches = [s for s in seen if "participant_search" in s or "lower(business_name)" in s]  # SQLite / PostgreSQL
    assert len(searches) == 3  # one per page
    names = [re.findall(r"Siti Aminah (\d{3})", page) for page in pages]
    assert [sorted(set(n)) for n in names] == [[f"{i:03d}" for i in range(a, b)] for a, b in ((0, 50), (50, 100), (100, 130))]
    assert "1–50 dari 130" in pages[0] and "51–100 dari 130" in pages[1] and "101–130 dari 130" in pages[2]


def test_manager_sees_masked_and_facilitator_is_refused(client, login_as, three):
    login_as("manager", kota="31.74")
    html = _table(client)
    assert "3174••••••••9902" in html and "3174014503909902" not in html and "+62813••••2222" in html
    assert "Siti Menteng" not in html


def test_export_csv_and_xlsx_audited_and_masked(app, client, login_as, three):
    staff = login_as("staff")
    response = client.get("/peserta/ekspor.csv?q=siti")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Nomor pendaftaran", "NIK", "Nama"]
    assert len(rows) == 2 and rows[1][1] == "3174014503909902" and rows[1][16] == "P1"
    with client.get("/peserta/ekspor.xlsx") as xlsx:
        workbook = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    values = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    assert len(values) == 3 and {v[2] for v in values[1:]} == {"Siti Aminah", "Budi Santoso"}
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.participants")
                                     .order_by(AuditLog.id)).all()
        assert len(entries) == 2 and all(e.user_id == staff.id for e in entries)
        assert entries[0].changes["rows"]["after"] == 1


def test_export_masked_for_manager(client, login_as, three):
    login_as("manager", kota="31.74")
    text = client.get("/peserta/ekspor.csv").get_data(as_text=True)
    assert "3174014503909902" not in text and "3174••••••••9902" in text and "+6281311112222" not in text


def test_participant_page_timeline_and_history(client, login_as, three):
    login_as("staff")
    html = client.get(f"/peserta/{three['siti']}").get_data(as_text=True)
    assert "Siti Aminah" in html and "317401-2026-00001" in html and "3174014503909902" in html
    assert "P1 Pendaftaran" in html and "selesai" in html
    assert "langkah berikutnya: Menyelesaikan pelatihan" in html
    assert "Pendaftaran" in html and "Riwayat perubahan" in html
    assert "wa.me/6281311112222" in html


def test_other_kecamatan_participant_is_404(client, login_as, three):
    login_as("staff")
    for url in (f"/peserta/{three['menteng']}", f"/peserta/{three['menteng']}/ubah",
                f"/peserta/{three['menteng']}/kartu.pdf"):
        assert client.get(url).status_code == 404, url


def test_edit_with_audit(app, client, login_as, three):
    login_as("staff")
    url = f"/peserta/{three['budi']}/ubah"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Budi Santoso"' in page and "(31.74.01.1002)" in page
    with app.app_context():
        sector = db.session.scalars(select(Sector).where(Sector.code == "jasa")).one().id
    data = {"nik": "3174011708859903", "name": "Budi Santoso Putra", "birth_date": "1985-08-17", "gender": "L",
            "phone": "0857-2222-3333", "email": "budi@contoh.id", "address": "Jl. Baru 2",
            "kelurahan": "31.74.01.1002", "business_name": "Bakso Budi", "sector_id": str(sector), "stage": "berjalan"}
    response = post_form(client, url, data, token_url=url)
    assert response.status_code == 302
    with app.app_context():
        p = db.session.get(Participant, three["budi"])
        assert (p.name, p.email, p.sector.code) == ("Budi Santoso Putra", "budi@contoh.id", "jasa")
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "participant.update")).one()
        assert entry.changes["name"] == {"before": "Budi Santoso", "after": "Budi Santoso Putra"}
    html = client.get(f"/peserta/{three['budi']}").get_data(as_text=True)
    assert "Data peserta diubah" in html
    bad = post_form(client, url, {**data, "nik": "3174014503909902"}, token_url=url)  # Siti's NIK
    assert bad.status_code == 422 and "sudah terdaftar" in bad.get_data(as_text=True)


def test_card_pdf_single_and_sheet(app, client, login_as, three, make_participant):
    login_as("staff")
    single = client.get(f"/peserta/{three['siti']}/kartu.pdf")
    reader = PdfReader(io.BytesIO(single.data))
    text = reader.pages[0].extract_text()
    assert single.mimetype == "application/pdf" and "Siti Aminah" in text and "317401-2026-00001" in text
    assert "Kecamatan Tebet" in text
    for i in range(11):
        make_participant(nik=f"31740117088599{20 + i}", name=f"Peserta {i}")
    sheet = client.get("/peserta/kartu.pdf")
    reader = PdfReader(io.BytesIO(sheet.data))
    text = "".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 2 and "13 kartu" in text and "Gunting" in text and "Siti Menteng" not in text
    with app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "document.cards")).first()


def test_card_sheet_for_a_day_without_registrations(client, login_as):
    login_as("staff")
    response = client.get("/peserta/kartu.pdf?tanggal=2001-01-01", follow_redirects=True)
    assert "Tidak ada peserta yang terdaftar pada 1-1-2001" in response.get_data(as_text=True)


def test_sector_admin(app, client, login_as):
    login_as("admin")
    url = "/pengaturan/sektor"
    assert "Pertanian/perikanan" in client.get(url).get_data(as_text=True)
    assert post_form(client, url, {"action": "add", "name": "Ekonomi kreatif"}, token_url=url).status_code == 302
    dup = post_form(client, url, {"action": "add", "name": "kuliner"}, token_url=url)
    assert dup.status_code == 422 and "sudah ada" in dup.get_data(as_text=True)
    with app.app_context():
        sector = db.session.scalars(select(Sector).where(Sector.code == "kriya")).one().id
    post_form(client, url, {"action": "hide", "sector_id": sector}, token_url=url)
    with app.app_context():
        assert not db.session.get(Sector, sector).active
    form = client.get("/peserta/daftar").get_data(as_text=True)
    assert "Ekonomi kreatif" in form and ">Kriya<" not in form


def test_hidden_sector_not_offered(app, client, login_as):
    with app.app_context():
        db.session.scalars(select(Sector).where(Sector.code == "kriya")).one().active = False
        db.session.commit()
    login_as("staff")
    html = client.get("/peserta/daftar").get_data(as_text=True)
    assert "Kriya" not in html and "Kuliner" in html


def test_demo_participants(app):
    result = app.test_cli_runner().invoke(args=["demo-data", "--participants", "300"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = db.session.scalars(select(Participant)).all()
        assert len(rows) == 300 and len({p.nik for p in rows}) == 300
        from app.core.idnumbers import check_nik

        assert all(check_nik(p.nik).valid for p in rows)
        active = [p for p in rows if p.status == "active"]
        assert all(p.reg_number for p in active) and len({p.reg_number for p in active}) == len(active)
        assert len({p.kecamatan_id for p in rows}) > 30
        # Steps spread like a funnel, and the dashboard tallies agree with them.
        from app.participants.models import ParticipantStep
        from app.reports.tallies import drift

        per_step = dict(db.session.execute(select(ParticipantStep.step, func.count()).group_by(ParticipantStep.step)).all())
        assert per_step[1] == len(active) and per_step[1] > per_step[2] > per_step[4] > 0
        assert drift() == []
        from app.training.models import Course

        course = db.session.scalars(select(Course)).one()
        assert course.kecamatan.name == "Tebet" and len(course.meetings) == 3
        assert len(course.enrollments) == len([p for p in active if p.kecamatan.name == "Tebet"][:30])
        assert course.facilitator.username == "tebet.fasilitator"
        from app.events.models import Event, Signup

        event = db.session.scalars(select(Event)).one()
        from app.participants.services import missing_steps_for

        tebet_active = [p.id for p in active if p.kecamatan.name == "Tebet"]
        may_sign_up = [pid for pid, m in missing_steps_for(tebet_active, 5).items() if not m]  # the step rule
        confirmed = db.session.scalars(select(Signup).where(Signup.status == "confirmed")).all()
        assert event.booths == 20 and len(confirmed) == min(20, len(may_sign_up), 25)
