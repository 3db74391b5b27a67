"""The participant history and the audit screen speak Indonesian: labels, not field names; before → after
in words, with foreign keys shown by name; every record kind of the participant appears."""
import html as html_lib
import re
from datetime import timedelta

from sqlalchemy import select

from app.core.timeutil import today_wib
from app.events.services import sign_up
from app.extensions import db
from app.licensing.services import record_license
from app.participants.models import Participant, Sector
from app.regions.models import Kelurahan
from tests.conftest import login, post_form
from tests.test_events import make_event
from tests.test_steps import set_mode

RAW = ("reg_number", "kelurahan_id", "sector_id", "business_name", "birth_date", "participant_id", "issued_on",
       "status:", "booth:")


def _text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _edited_participant(app, client, login_as, make_participant):
    pid = make_participant(nik="3174011708859903", name="Budi Santoso", phone="085722223333",
                           kelurahan="31.74.01.1001")
    staff = login_as("staff")
    url = f"/peserta/{pid}/ubah"
    with app.app_context():
        sector = db.session.scalars(select(Sector).where(Sector.code == "jasa")).one().id
        before, after = (db.session.scalars(select(Kelurahan.name).where(Kelurahan.code == code)).one()
                         for code in ("31.74.01.1001", "31.74.01.1002"))
    data = {"nik": "3174011708859903", "name": "Budi Santoso Putra", "birth_date": "1985-08-17", "gender": "L",
            "phone": "0857-2222-3333", "email": "", "address": "Jl. Baru 2", "kelurahan": "31.74.01.1002",
            "business_name": "Bakso Budi", "sector_id": str(sector), "stage": "berjalan"}
    assert post_form(client, url, data, token_url=url).status_code == 302
    set_mode(app, "bebas")
    event_id = make_event(app, booths=5, opens_in=-1)
    with app.app_context():
        p = db.session.get(Participant, pid)
        record_license(p, "iumk", "IUMK/503/2026/77", today_wib() - timedelta(days=0), None, staff)
        sign_up(event_id, p, None)
        db.session.commit()
    return pid, before, after


def test_participant_history_in_words(app, client, login_as, make_participant):
    pid, kel_before, kel_after = _edited_participant(app, client, login_as, make_participant)
    text = _text(client.get(f"/peserta/{pid}"))
    history = text[text.index("Riwayat perubahan"):]
    assert "Nama: Budi Santoso → Budi Santoso Putra" in history
    assert f"Kelurahan: {kel_before} → {kel_after}" in history
    assert "Izin usaha" in history and "Nomor izin: IUMK/503/2026/77" in history and "Jenis izin: IUMK" in history
    assert "Pendaftaran acara" in history and "Status pendaftaran: Terkonfirmasi" in history and "Stan: 1" in history
    for raw in RAW:
        assert raw not in history, raw


def test_audit_screen_in_words(app, client, login_as, make_participant, make_user):
    _, kel_before, kel_after = _edited_participant(app, client, login_as, make_participant)
    admin_client = app.test_client()
    login(admin_client, make_user("admin", kecamatan=None).username)
    text = _text(admin_client.get("/admin/audit"))
    table = text[text.index("Waktu"):]
    assert "Nama: Budi Santoso → Budi Santoso Putra" in table
    assert f"Kelurahan: {kel_before} → {kel_after}" in table
    assert "Data peserta" in table and "Izin usaha" in table and "Pendaftaran acara" in table
    for raw in RAW:
        assert raw not in table, raw
