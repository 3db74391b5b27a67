"""The weekly report submitted by the kecamatan, returned or approved by the Sudin, frozen, compiled
for the province and explained down to the participants (issue 20)."""
import io
import json
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.core.timeutil import today_wib
from app.extensions import db
from app.participants.models import ParticipantStep
from app.regions.models import Kecamatan
from app.reports.figures import monday_of, weekly_report
from app.reports.models import WeeklyReportFile, WeeklySnapshot, WeeklySubmission
from app.reports.submissions import (SubmissionError, freeze, freeze_overdue, kecamatan_area, members_through,
                                     step_counts, unpack)
from tests.conftest import kecamatan_by_code, post_form
from tests.test_reports import Person, insert_people, kelurahan_of

KEC = "31.74.01"
LAST_MONDAY = monday_of(today_wib()) - timedelta(days=7)


def people_of(kec_code: str, monday: date, count: int, offset: int = 0) -> list[Person]:
    """Residents of the kecamatan reaching P1 before the week and P2/P4 in it."""
    places = kelurahan_of(kecamatan_code=kec_code)
    out = []
    for i in range(count):
        kel, kec = places[i % len(places)]
        steps = {1: monday - timedelta(days=20 + i % 5)}
        if i % 2 == 0:
            steps[2] = monday + timedelta(days=i % 7)
        if i % 3 == 0:
            steps[4] = monday + timedelta(days=(i + offset) % 7)
        out.append(Person(kel, kec, steps=steps, name=f"Warga {offset + i}", birth=date(1980, 1, 1) + timedelta(days=i)))
    return out


def kec_id(app) -> int:
    with app.app_context():
        return kecamatan_by_code(KEC).id


def submit(client, kecamatan_id: int, monday: date):
    page = f"/laporan/mingguan/kecamatan/{kecamatan_id}?minggu={monday.isoformat()}"
    return post_form(client, f"/laporan/mingguan/kecamatan/{kecamatan_id}/ajukan", {"minggu": monday.isoformat()},
                     token_url=page)


def decide(client, snapshot_id: int, choice: str, note: str = ""):
    return post_form(client, f"/laporan/mingguan/versi/{snapshot_id}/keputusan",
                     {"keputusan": choice, "catatan": note}, token_url=f"/laporan/mingguan/versi/{snapshot_id}")


def latest_snapshot(app, kecamatan_id: int, monday: date) -> WeeklySnapshot:
    with app.app_context():
        snap = db.session.scalars(select(WeeklySnapshot).where(
            WeeklySnapshot.kecamatan_id == kecamatan_id, WeeklySnapshot.monday == monday)
            .order_by(WeeklySnapshot.version.desc())).first()
        db.session.expunge_all()
        return snap


def signed_in(app, username: str):
    """A new browser session of ``username``."""
    from tests.conftest import login

    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def flashes(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def counts_on(html: str, kind: str) -> list[int]:
    """The linked figures of one kind (jenis) on a version page, by step."""
    found = re.findall(r'href="[^"]*langkah=(\d)[^"]*jenis=' + kind + r'[^"]*" data-count="(\d+)"', html.replace("&amp;", "&"))
    return [int(n) for _s, n in sorted(found, key=lambda x: int(x[0]))]


def test_submit_return_resubmit_approve_freezes_figures_files_and_revisions(app, client, make_user):
    kid = kec_id(app)
    week = LAST_MONDAY - timedelta(days=7)  # two weeks back, so a later week can be reported too
    with app.app_context():
        insert_people(people_of(KEC, week, 30))
    staff = make_user("staff", kecamatan=KEC)
    sudin = make_user("manager", kota="31.74")
    province = make_user("admin")

    # The kecamatan submits: the figures are frozen and equal the live report computed then.
    client = signed_in(app, staff.username)
    page = client.get(f"/laporan/mingguan/kecamatan/{kid}?minggu={week.isoformat()}").get_data(as_text=True)
    assert "Ajukan ke Sudin" in page and 'data-week-state="open"' in page
    answer = submit(client, kid, week)
    assert answer.status_code == 302
    snap1 = latest_snapshot(app, kid, week)
    with app.app_context():
        live = weekly_report(kecamatan_area(kid), week)
        frozen_total = json.loads(snap1.figures)["total"]
        assert frozen_total["steps"] == live.total.steps and frozen_total["new"] == live.total.new
        assert step_counts(unpack(snap1.members)) == live.total.steps
        assert live.total.steps[0] == 30 and live.total.new[1] == 15
    # Submitting again while it waits is refused with a message, and adds no version.
    again = submit(client, kid, week)
    assert "menunggu keputusan Sudin" in flashes(client, again.headers["Location"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WeeklySnapshot)) == 1

    # The Sudin returns it; a return without a note is refused.
    client = signed_in(app, sudin.username)
    board = client.get(f"/laporan/persetujuan?minggu={week.isoformat()}").get_data(as_text=True)
    assert 'data-state-count="submitted" data-count="1"' in board
    refused = decide(client, snap1.id, "kembalikan", "")
    assert "Tuliskan catatan" in flashes(client, refused.headers["Location"])
    returned = decide(client, snap1.id, "kembalikan", "P2 kelurahan Cilandak Barat belum lengkap")
    assert returned.status_code == 302

    # The kecamatan sees the note, corrects (one more P2 in the week) and submits again.
    client = signed_in(app, staff.username)
    page = client.get(f"/laporan/mingguan/kecamatan/{kid}?minggu={week.isoformat()}").get_data(as_text=True)
    assert "P2 kelurahan Cilandak Barat belum lengkap" in page and "Ajukan ulang" in page
    with app.app_context():
        insert_people(people_of(KEC, week, 1, offset=200))
    assert submit(client, kid, week).status_code == 302
    snap2 = latest_snapshot(app, kid, week)
    assert snap2.version == 2 and json.loads(snap2.figures)["total"]["steps"][0] == 31

    # The Sudin approves version 2: the files are kept; approving again is refused.
    client = signed_in(app, sudin.username)
    assert decide(client, snap2.id, "setujui").status_code == 302
    second = decide(client, snap2.id, "setujui")
    assert "sudah disetujui" in flashes(client, second.headers["Location"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "weekly_report.approve")) == 1
        assert db.session.scalar(select(WeeklySubmission.state).where(WeeklySubmission.kecamatan_id == kid)) == "approved"
    files = {fmt: client.get(f"/laporan/mingguan/versi/{snap2.id}/berkas.{fmt}").data for fmt in ("pdf", "xlsx", "csv")}
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "Disetujui" in text and sudin.full_name in text
    sheet = load_workbook(io.BytesIO(files["xlsx"]), read_only=True)["Ringkasan"]
    assert [r for r in sheet.iter_rows(values_only=True) if r and r[0] == "P1"][0][2] == 31
    assert "31.74.01" in files["csv"].decode("utf-8-sig")

    # The kecamatan cannot submit an approved week again.
    client = signed_in(app, staff.username)
    refused = submit(client, kid, week)
    assert "sudah disetujui" in flashes(client, refused.headers["Location"])

    # A record of the approved week corrected afterwards: a P2 dated in that week is recorded now.
    with app.app_context():
        late = insert_people(people_of(KEC, week, 1, offset=300))[0]
    # The approved files do not change.
    client = signed_in(app, province.username)
    assert {fmt: client.get(f"/laporan/mingguan/versi/{snap2.id}/berkas.{fmt}").data
            for fmt in ("pdf", "xlsx", "csv")} == files
    # The next week's submission carries the revision, opened to the participant behind it.
    client = signed_in(app, staff.username)
    next_week = week + timedelta(days=7)
    assert submit(client, kid, next_week).status_code == 302
    snap3 = latest_snapshot(app, kid, next_week)
    html = client.get(f"/laporan/mingguan/versi/{snap3.id}").get_data(as_text=True)
    assert counts_on(html, "revisi_tambah")[0] == 1 and counts_on(html, "revisi_kurang") == [0] * 7
    listing = client.get(f"/laporan/mingguan/versi/{snap3.id}/peserta?langkah=1&jenis=revisi_tambah").get_data(as_text=True)
    assert f"/peserta/{late}\"" in listing and "1 peserta" in listing
    # Every linked figure of the version page opens a list of exactly its length: the comparison, and
    # the frozen tables' totals, new and previous-week figures of the kecamatan and of each kelurahan.
    assert "jenis=baru&amp;kelurahan=" in html and "jenis=sebelumnya" in html and 'class="frozen"' in html
    for href, n in re.findall(r'href="([^"]*/peserta\?[^"]*)" data-count="(\d+)"', html.replace("&amp;", "&")):
        shown = client.get(href).get_data(as_text=True)
        assert re.search(r'id="result-count">([\d.]+) peserta', shown).group(1).replace(".", "") == n, href

    # The province board: the week approved, compiled figures from the approved version.
    client = signed_in(app, province.username)
    board = client.get(f"/laporan/persetujuan?minggu={week.isoformat()}").get_data(as_text=True)
    assert 'data-state-count="approved" data-count="1"' in board
    assert 'data-state-count="open" data-count="43"' in board
    compiled = re.search(r'<tr data-step="P1">.*?data-count="(\d+)"', board, re.S).group(1)
    assert compiled == "31"
    listing = client.get(f"/laporan/persetujuan/peserta?minggu={week.isoformat()}&langkah=1").get_data(as_text=True)
    assert "31 peserta" in listing


def test_refusals_scope_and_roles(app, client, make_user):
    kid = kec_id(app)
    with app.app_context():
        insert_people(people_of(KEC, LAST_MONDAY, 4))
        other_kota_kec = kecamatan_by_code("31.71.01").id
    staff = make_user("staff", kecamatan=KEC)
    client = signed_in(app, staff.username)
    # The current week has not ended.
    this_week = monday_of(today_wib())
    refused = submit(client, kid, this_week)
    assert "belum berakhir" in flashes(client, refused.headers["Location"])
    # Another kecamatan's week: not found.
    assert submit(client, other_kota_kec, LAST_MONDAY).status_code == 404
    assert submit(client, kid, LAST_MONDAY).status_code == 302
    snap = latest_snapshot(app, kid, LAST_MONDAY)
    # Staff cannot decide; a Sudin of another kota does not see it; the province does not decide.
    assert decide(client, snap.id, "setujui").status_code == 403
    client = signed_in(app, make_user("manager", kota="31.71").username)
    assert client.get(f"/laporan/mingguan/versi/{snap.id}").status_code == 404
    assert decide(client, snap.id, "setujui").status_code == 404
    client = signed_in(app, make_user("admin").username)
    assert client.get(f"/laporan/mingguan/versi/{snap.id}").status_code == 200
    assert decide(client, snap.id, "setujui").status_code == 403
    client = signed_in(app, make_user("manager", kota="31.74").username)
    assert decide(client, snap.id, "hapus").status_code == 400
    # No file before approval; an unknown format is not found.
    assert client.get(f"/laporan/mingguan/versi/{snap.id}/berkas.pdf").status_code == 404
    assert client.get(f"/laporan/mingguan/versi/{snap.id}/peserta?langkah=9").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WeeklyReportFile)) == 0


def test_monday_job_freezes_drafts_and_a_draft_can_still_be_submitted(app, client, make_user):
    kid = kec_id(app)
    with app.app_context():
        insert_people(people_of(KEC, LAST_MONDAY, 6))
        other = kecamatan_by_code("31.74.02").id
        freeze(other, LAST_MONDAY, None)  # one kecamatan submitted in time
        db.session.commit()
        this_monday = monday_of(today_wib())
        # Monday 05:00 WIB (22:00 UTC on Sunday): too early.
        assert freeze_overdue(datetime.combine(this_monday, datetime.min.time()) - timedelta(hours=2)) == 0
        # Monday 07:00 WIB: every other kecamatan is frozen as a draft, once.
        assert freeze_overdue(datetime.combine(this_monday, datetime.min.time())) == 43
        assert freeze_overdue(datetime.combine(this_monday, datetime.min.time())) == 0
        states = dict(db.session.execute(select(WeeklySubmission.kecamatan_id, WeeklySubmission.state).where(
            WeeklySubmission.monday == LAST_MONDAY)).all())
        assert states[other] == "submitted" and states[kid] == "draft" and len(states) == 44
        draft = db.session.scalars(select(WeeklySnapshot).where(WeeklySnapshot.kecamatan_id == kid)).one()
        assert draft.automatic and draft.frozen_by_id is None
        assert step_counts(unpack(draft.members)) == json.loads(draft.figures)["total"]["steps"]
    client = signed_in(app, make_user("staff", kecamatan=KEC).username)
    page = client.get(f"/laporan/mingguan/kecamatan/{kid}?minggu={LAST_MONDAY.isoformat()}").get_data(as_text=True)
    assert "Dibekukan otomatis" in page and "dibekukan otomatis" in page
    assert submit(client, kid, LAST_MONDAY).status_code == 302
    assert latest_snapshot(app, kid, LAST_MONDAY).version == 2


def test_a_snapshot_is_written_whole_or_not_at_all(app, monkeypatch):
    from app.reports import submissions

    kid = kec_id(app)
    with app.app_context():
        insert_people(people_of(KEC, LAST_MONDAY, 3))

        def broken(*_args):
            raise RuntimeError("disk full")

        monkeypatch.setattr(submissions, "members_through", broken)
        with pytest.raises(RuntimeError):
            freeze(kid, LAST_MONDAY, None)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(WeeklySnapshot)) == 0
        assert db.session.scalar(select(func.count()).select_from(WeeklySubmission).where(
            WeeklySubmission.state != "open")) == 0
        monkeypatch.undo()
        freeze(kid, LAST_MONDAY, None)
        db.session.commit()
        with pytest.raises(SubmissionError):
            freeze(kid, LAST_MONDAY, None)
        db.session.rollback()
        assert members_through(kid, LAST_MONDAY + timedelta(days=6))[0][2] & 1


def test_the_monday_job_runs_in_the_real_worker(app, worker):
    """The periodic task, enqueued as the consumer's scheduler does, freezes the weeks in the worker."""
    import time

    from app.core.timeutil import to_wib, utcnow
    from app.reports.jobs import freeze_unsubmitted_weeks

    now = to_wib(utcnow())
    if now.weekday() == 0 and now.hour < 6:
        pytest.skip("before Monday 06:00 WIB the job rightly does nothing")
    with app.app_context():
        insert_people(people_of(KEC, LAST_MONDAY, 2))
    freeze_unsubmitted_weeks()
    deadline = time.monotonic() + 120
    while True:
        with app.app_context():
            drafts = db.session.scalar(select(func.count()).select_from(WeeklySubmission).where(
                WeeklySubmission.monday == LAST_MONDAY, WeeklySubmission.state == "draft"))
        if drafts == 44:
            break
        assert time.monotonic() < deadline, f"the worker froze {drafts} of 44 weeks"
        time.sleep(0.3)
