"""Time the PDF batches against plain WeasyPrint of the same templates, in the same run (issue 18).

Usage: .venv/bin/python bench/bench_pdf.py [--runs N]
Builds a fresh SQLite database in a temporary folder (regions, a letterhead with a logo, 100
graduates of a course with their certificates, 100 participants registered today, 50 SKU letters),
then for each document:
  app    — the app's own path: the view function in a request of a logged-in desk user (queries,
           scope, QR codes, template, WeasyPrint, audit), as a request would run it;
  floor  — plain WeasyPrint of the same template with fixed data (one participant repeated, one QR
           code): the HTML is rendered beforehand, only ``HTML(...).write_pdf()`` is timed.
Prints the median of N runs (default 3) and the ratio app/floor. Then, in a fresh process (a
worker), renders a batch of 500 certificate pages and prints the process's peak RSS.
Not run by the tests.
"""
import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import time as clock, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["APP_ENV"] = "development"

from flask_login import login_user  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def build(url: str, graduates: int, cards: int, letters: int) -> dict:
    """A database with a course of ``graduates`` certified graduates, ``cards`` participants
    verified today and ``letters`` SKU letters; returns the ids the benchmark needs."""
    from flask_migrate import upgrade
    from PIL import Image

    from app.auth.services import Wilayah, create_user
    from app.core.timeutil import today_wib
    from app.licensing.services import Signer, request_letter
    from app.participants.models import Participant, Sector
    from app.participants.services import Registration, record_step, register
    from app.regions.models import Kecamatan, Kelurahan
    from app.regions.services import load_regions
    from app.settings.models import Letterhead
    from app.training.models import Course, Enrollment
    from app.training.services import MeetingInput, create_course, enroll, issue_for_graduates, mark

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        load_regions()
        kec = db.session.scalars(select(Kecamatan).where(Kecamatan.code == "31.74.01")).one()
        user, _ = create_user("bench.petugas", "Petugas Bench", "staff", Wilayah("kecamatan", kecamatan_id=kec.id),
                              password="bench-okoce-2026-x", must_change=False)
        facilitator, _ = create_user("bench.fasilitator", "Rina Fasilitator, S.E.", "facilitator",
                                     Wilayah("kecamatan", kecamatan_id=kec.id), password="bench-okoce-2026-x",
                                     must_change=False)
        logo = io.BytesIO()
        Image.new("RGB", (300, 300), (30, 90, 160)).save(logo, "PNG")
        db.session.add(Letterhead(kecamatan_id=kec.id, office_name="Kantor Kecamatan Tebet",
                                  address="Jl. Prof. Dr. Soepomo No. 50, Tebet, Jakarta Selatan", phone="021-8290000",
                                  email="kec.tebet@jakarta.go.id", camat_name="Drs. Budi Santoso, M.Si.",
                                  camat_nip="197001011990031001", logo=logo.getvalue(), logo_mime="image/png"))
        kelurahan = db.session.scalars(select(Kelurahan).where(Kelurahan.kecamatan_id == kec.id)
                                       .order_by(Kelurahan.code)).all()
        sector = db.session.scalars(select(Sector).where(Sector.code == "kuliner")).one()
        db.session.commit()
        total = max(graduates, cards, letters)
        ids = []
        for i in range(total):
            reg = Registration(nik=f"317401010180{9000 + i:04d}"[:16], name=f"Peserta Bench {i:04d} Wulandari",
                               phone=f"0812-3456-{i:04d}", kelurahan=kelurahan[i % len(kelurahan)].code,
                               business_name=f"Warung Bench {i}", sector_id=sector.id, stage="berjalan",
                               address=f"Jl. Tebet Barat Dalam No. {i + 1}")
            p = register(reg, kec, "walkin", user, confirmed={"identity", "duplicate"})
            record_step(p, 1, today_wib() - timedelta(days=60), "bench")
            ids.append(p.id)
            if i % 100 == 99:
                db.session.commit()
        db.session.commit()
        course = create_course("Dasar Usaha Kuliner", "Pemasaran dan pengemasan", kec, facilitator.id, None,
                               [MeetingInput(date=today_wib() - timedelta(days=1), start_time=clock(9), end_time=clock(12), venue="Aula Kantor Kecamatan",
                                             capacity=graduates)], user)
        db.session.commit()
        people = db.session.scalars(select(Participant).where(Participant.id.in_(ids[:graduates]))
                                    .order_by(Participant.id)).all()
        added, _ = enroll(course, people, user)
        db.session.commit()
        meeting = course.meetings[0]
        for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.course_id == course.id)):
            mark(meeting, enrollment, "hadir", user)
        db.session.commit()
        issue_for_graduates(db.session.get(Course, course.id), user)
        db.session.commit()
        signer = Signer("Drs. Budi Santoso, M.Si.", "Camat Tebet", "197001011990031001")
        letter_ids = [request_letter(p, signer, user).id for p in db.session.scalars(
            select(Participant).where(Participant.id.in_(ids[:letters])).order_by(Participant.id))]
        db.session.commit()
        return {"course_id": course.id, "user_id": user.id, "letter_ids": letter_ids}


def in_request(app, user_id: int, fn):
    from app.auth.models import User

    with app.test_request_context("/"):
        login_user(db.session.get(User, user_id))
        try:
            return fn()
        finally:
            db.session.remove()


def app_paths(app, ids: dict) -> dict:
    """Callables that produce each batch through the app's own view code, as a request would."""
    from app.licensing.models import SkuLetter
    from app.jobs.documents import respond
    from app.licensing.jobs import letters_document
    from app.participants.views import card_sheet
    from app.training.views_documents import certificates_batch

    def letters():
        rows = db.session.scalars(select(SkuLetter).where(SkuLetter.id.in_(ids["letter_ids"]))
                                  .order_by(SkuLetter.id)).all()
        return respond(letters_document(rows, "surat.pdf"))

    def body(response):
        assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
        return response.get_data()

    return {
        "certificates": lambda: body(in_request(app, ids["user_id"], lambda: certificates_batch(ids["course_id"]))),
        "cards": lambda: body(in_request(app, ids["user_id"], card_sheet)),
        "letters": lambda: body(in_request(app, ids["user_id"], letters)),
    }


def fixed_html(app, kind: str, count: int) -> str:
    """The same template as the app's, with one fixed participant repeated ``count`` times."""
    from datetime import date

    from flask import render_template

    from app.core.pdf import page_context, qr_image

    lh = SimpleNamespace(office_name="Kantor Kecamatan Tebet", address="Jl. Prof. Dr. Soepomo No. 50, Tebet",
                         phone="021-8290000", email="kec.tebet@jakarta.go.id", camat_name="Drs. Budi Santoso, M.Si.",
                         camat_nip="197001011990031001", logo=None, logo_mime=None)
    kec = SimpleNamespace(name="Tebet", id=1)
    person = SimpleNamespace(name="Peserta Bench 0001 Wulandari", reg_number="317401-2612-00001", kecamatan=kec,
                             kecamatan_id=1, registered_at=date(2026, 12, 1), nik="3174010101809001",
                             address="Jl. Tebet Barat Dalam No. 1", kelurahan=SimpleNamespace(name="Tebet Barat"),
                             business_name="Warung Bench 1", sector=SimpleNamespace(name="Kuliner"))
    qr = qr_image("https://meja.example.go.id/verifikasi/ABCDEFGHJK")
    with app.test_request_context("/"):
        if kind == "certificates":
            course = SimpleNamespace(title="Dasar Usaha Kuliner", meetings=[SimpleNamespace(date=date(2026, 12, 1))],
                                     kecamatan=kec, facilitator=SimpleNamespace(full_name="Petugas Bench"))
            cert = SimpleNamespace(number="00001/SERT-PKT/317401/2026", participant=person, code="ABCDEFGHJK")
            return render_template("pdf/certificates.html", **page_context("A4", landscape=True), course=course,
                                   items=[{"c": cert, "qr": qr}] * count, letterhead=lh)
        if kind == "cards":
            return render_template("pdf/cards.html", **page_context("A4"), cards=[{"p": person, "qr": qr}] * count,
                                   sheet=True, letterheads={1: lh})
        letter = SimpleNamespace(number="470/001/SKU/XII/2026", kelurahan=person.kelurahan, participant=person,
                                 kecamatan_id=1, letter_date=date(2026, 12, 1), signer_title="Camat Tebet",
                                 signer_name="Drs. Budi Santoso, M.Si.", signer_nip="197001011990031001",
                                 code="ABCDEFGHJK")
        return render_template("pdf/sku_letters.html", **page_context("A4"), letterheads={1: lh},
                               items=[{"l": letter, "qr": qr, "statement": "Peserta tersebut terdaftar."}] * count)


def plain_certificates_html(count: int) -> str:
    """The issue's first floor: a page of similar content without the template's layout (no letterhead,
    border or positioned signatures), plain blocks only; for context, not the criterion."""
    from app.core.pdf import qr_image

    qr = qr_image("https://meja.example.go.id/verifikasi/ABCDEFGHJK")
    page = ("<section><p>PEMERINTAH PROVINSI DKI JAKARTA</p><p><b>KANTOR KECAMATAN TEBET</b></p>"
            "<h1>SERTIFIKAT</h1><p>Nomor: 00001/SERT-PKT/317401/2026</p><p>diberikan kepada</p>"
            "<h2>Peserta Bench 0001 Wulandari</h2><p>telah menyelesaikan pelatihan kewirausahaan <b>Dasar Usaha "
            "Kuliner</b> pada 1 Desember 2026 dalam Program Pengembangan Kewirausahaan Terpadu (JakPreneur/OK OCE) "
            "Kecamatan Tebet.</p><p>Fasilitator, Petugas Bench</p>" + str(qr) +
            "<p>Periksa keaslian: pindai kode ini, kode ABCDEFGHJK</p><p>Camat Tebet, Drs. Budi Santoso, M.Si. "
            "NIP 197001011990031001</p></section>")
    return ("<html><head><style>@font-face { font-family: D; src: url(static:fonts/DejaVuSans.ttf); } "
            "@page { size: 297mm 210mm; margin: 12mm; } html { font-family: D; font-size: 10pt; } "
            "section { break-after: page; text-align: center; } img { width: 26mm; }</style></head><body>"
            + page * count + "</body></html>")


def floor(app, html: str):
    from weasyprint import HTML

    from app.core.pdf import url_fetcher

    with app.app_context():
        return HTML(string=html, base_url="static:/", url_fetcher=url_fetcher()).write_pdf()


def timed(fn, runs: int) -> tuple[float, float, bytes]:
    """Median wall time and median CPU time of this process (rendering is single-threaded, so CPU
    time is the work done, whatever else shares the machine), and the last result."""
    walls, cpus, out = [], [], b""
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def pages(pdf: bytes) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def memory(url: str, course_id: int, user_id: int) -> None:
    """Child process: one batch of the course's certificates (a page each), as the worker prints a batch
    longer than PDF_JOB_PAGES (app/jobs/documents.py); print peak RSS in MB."""
    from app.jobs.documents import load

    def batch():
        out = io.BytesIO()
        load("training.certificates", {"course_id": course_id}).write(out, None)
        return out.getvalue()

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    body = in_request(app, user_id, batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{pages(body)} {peak:.0f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        memory(args.memory[0], int(args.memory[1]), int(args.memory[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        start = time.perf_counter()
        ids = build(url, graduates=100, cards=100, letters=50)
        print(f"database built in {time.perf_counter() - start:.0f} s")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
        paths = app_paths(app, ids)
        print(f"{'batch':<18}{'pages':>6}  {'floor wall/cpu s':>17}  {'app wall/cpu s':>15}  {'ratio wall/cpu':>14}")
        for kind, count in (("certificates", 100), ("cards", 100), ("letters", 50)):
            html = fixed_html(app, kind, count)
            floor_wall, floor_cpu, floor_pdf = timed(lambda: floor(app, html), args.runs)
            app_wall, app_cpu, app_pdf = timed(paths[kind], args.runs)
            assert pages(floor_pdf) == pages(app_pdf), (pages(floor_pdf), pages(app_pdf))
            label = f"{count} {kind}"
            print(f"{label:<18}{pages(app_pdf):>6}  {floor_wall:>8.2f}/{floor_cpu:<8.2f}  {app_wall:>7.2f}/{app_cpu:<7.2f}"
                  f"  {app_wall / floor_wall:>6.2f}/{app_cpu / floor_cpu:<6.2f}")
            if kind == "certificates":
                plain = plain_certificates_html(count)
                plain_wall, plain_cpu, plain_pdf = timed(lambda: floor(app, plain), args.runs)
                print(f"{'  plain page floor':<18}{pages(plain_pdf):>6}  {plain_wall:>8.2f}/{plain_cpu:<8.2f}"
                      f"  app/plain {app_wall / plain_wall:.2f}/{app_cpu / plain_cpu:.2f}")
        url500 = f"sqlite:///{tmp}/bench500.sqlite"
        ids500 = build(url500, graduates=500, cards=0, letters=0)
        out = subprocess.run([sys.executable, __file__, "--memory", url500, str(ids500["course_id"]),
                              str(ids500["user_id"])], capture_output=True, text=True, check=True)
        count, peak = out.stdout.split()[-2:]
        print(f"worker peak RSS after a batch of {count} certificate pages: {peak} MB")


if __name__ == "__main__":
    main()
