"""Every PDF and export, for every role: the full NIK and phone number appear exactly for the roles
that need them (admin, staff) and never for the others, wherever the document shows them at all.

Each document is fetched through its real URL by one user of each role (manager of the province and
of the kota, facilitator and pendamping of the kecamatan) and read back as text: PDF with pypdf, CSV
with csv, XLSX with openpyxl. A role a document is not for must be refused. A new document route
that is not walked here fails :func:`test_every_document_route_is_walked`.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.auth.models import User
from app.core.formatting import mask_nik, mask_phone
from app.core.timeutil import today_wib
from app.events.services import sign_up
from app.extensions import db
from app.licensing.services import camat_signer, request_letter
from app.participants.models import Participant
from app.regions.models import Kota
from app.settings.services import save_letterhead
from app.training.models import Course, Enrollment
from app.training.services import enroll, issue_certificates, mark
from tests.conftest import kecamatan_by_code, login, post_form
from tests.test_events import make_event
from tests.test_steps import set_mode

SUBJECT = "Rina Subjek"
USERS = {  # role key -> (role, scope, username)
    "admin": ("admin", {}, "admin.dki"),
    "manager_province": ("manager", {}, "manajer.dki"),
    "manager_kota": ("manager", {"kota": "31.74"}, "manajer.jaksel"),
    "staff": ("staff", {"kecamatan": "31.74.01"}, "staf.tebet"),
    "facilitator": ("facilitator", {"kecamatan": "31.74.01"}, "fasil.tebet"),
    "pendamping": ("pendamping", {"kecamatan": "31.74.01"}, "pendamping.tebet"),
}
FULL = {"admin", "staff"}  # app/participants/access.py UNMASKED_ROLES


@dataclass
class Doc:
    name: str
    endpoint: str
    url: str                   # formatted with the world's ids
    shows: frozenset = frozenset()  # which of "nik", "phone" the document prints
    lists_subject: bool = True  # the subject's name is in it (so that the check is not vacuous)
    method: str = "GET"
    refused: dict = field(default_factory=dict)  # role key -> status, refused by region scope
    image: bool = False  # a WhatsApp image of a PDF walked here: only who may fetch it is checked


DOCS = [
    Doc("export csv", "participants.export", "/peserta/ekspor.csv", frozenset({"nik", "phone"})),
    Doc("export xlsx", "participants.export", "/peserta/ekspor.xlsx", frozenset({"nik", "phone"})),
    Doc("action list csv", "participants.export", "/peserta/ekspor.csv?aksi=latih_belum_izin",
        frozenset({"nik", "phone"})),
    Doc("action list xlsx", "participants.export", "/peserta/ekspor.xlsx?aksi=latih_belum_izin",
        frozenset({"nik", "phone"})),
    Doc("card", "participants.card", "/peserta/{participant}/kartu.pdf"),
    Doc("card sheet", "participants.card_sheet", "/peserta/kartu.pdf"),
    Doc("receipt", "participants.receipt", "/peserta/{participant}/tanda-terima.pdf"),
    Doc("card image", "participants.card_image", "/peserta/{participant}/kartu.png", image=True),
    Doc("receipt image", "participants.receipt_image", "/peserta/{participant}/tanda-terima.png", image=True),
    Doc("certificate image", "training.certificate_image", "/sertifikat/{certificate}.png", image=True),
    Doc("sign-in sheet", "training.sign_in_sheet", "/pertemuan/{meeting}/daftar-hadir.pdf"),
    Doc("certificates", "training.certificates_batch", "/pelatihan/{course}/sertifikat.pdf"),
    Doc("certificate", "training.certificate_one", "/pelatihan/peserta/{enrollment}/sertifikat.pdf"),
    Doc("SKU letter", "licensing.letter_pdf", "/surat-sku/{letter}.pdf", frozenset({"nik"})),
    Doc("SKU letters batch", "licensing.ready_letters", "/siap-izin/surat.pdf", frozenset({"nik"}), method="POST"),
    Doc("booth list", "events.booth_list", "/acara/{event}/stan.pdf", frozenset({"phone"})),
    Doc("sign-up list", "events.signup_list", "/acara/{event}/pendaftar.pdf"),
    *[Doc(f"weekly {fmt}", "reports.weekly_file", f"/laporan/mingguan.{fmt}", lists_subject=False)
      for fmt in ("pdf", "xlsx", "csv")],
    *[Doc(f"weekly kota {fmt}", "reports.weekly_kota_file", f"/laporan/mingguan/kota/{{kota}}.{fmt}",
          lists_subject=False, refused={"staff": 404}) for fmt in ("pdf", "xlsx", "csv")],
    *[Doc(f"weekly kecamatan {fmt}", "reports.weekly_kecamatan_file",
          f"/laporan/mingguan/kecamatan/{{kecamatan}}.{fmt}", lists_subject=False) for fmt in ("pdf", "xlsx", "csv")],
    *[Doc(f"approved weekly {fmt}", "reports.version_file", f"/laporan/mingguan/versi/{{snapshot}}/berkas.{fmt}",
          lists_subject=False) for fmt in ("pdf", "xlsx", "csv")],
    Doc("import template csv", "participants.import_template", "/peserta/impor/templat.csv", lists_subject=False),
    Doc("import template xlsx", "participants.import_template", "/peserta/impor/templat.xlsx", lists_subject=False),
    Doc("test page", "settings.test_document", "/dokumen/uji", lists_subject=False),
]
DOCUMENT_RULE = re.compile(r"\.(pdf|csv|xlsx|png|<fmt>)$|/ekspor|/templat|/dokumen/")


def world(app, make_user, make_participant, make_course) -> dict:
    """One participant of Tebet who is in every document: trained (certificate issued, sign-in sheet), ready for
    licensing (SKU letter), with a booth at an event, assigned to the pendamping; one user per role."""
    set_mode(app, "bebas")
    users = {key: make_user(role, username=username, **scope) for key, (role, scope, username) in USERS.items()}
    with app.app_context():
        tebet = kecamatan_by_code("31.74.01")
        save_letterhead(tebet, {"office_name": "Kantor Kecamatan Tebet", "camat_name": "Drs. Camat Tebet"})
        db.session.commit()
    pid = make_participant(name=SUBJECT, phone="0813-7777-8888", business_name="Kopi Rina")
    course_id = make_course(facilitator=users["facilitator"], meetings=1)
    event_id = make_event(app, booths=5)
    with app.app_context():
        p = db.session.get(Participant, pid)
        p.pendamping_id = users["pendamping"].id
        course = db.session.get(Course, course_id)
        (enrolment,), _ = enroll(course, [p], None)
        facilitator = db.session.get(User, users["facilitator"].id)
        mark(course.meetings[0], enrolment, "hadir", facilitator)
        db.session.flush()
        assert db.session.get(Enrollment, enrolment.id).completed_on is not None
        letter = request_letter(p, camat_signer(p.kecamatan), db.session.get(User, users["staff"].id))
        assert sign_up(event_id, p, None).status == "confirmed"
        (certificate,) = issue_certificates(course, [enrolment], None)  # printing shows only issued ones
        db.session.commit()
        ids = {"participant": pid, "course": course_id, "meeting": course.meetings[0].id, "enrollment": enrolment.id,
               "letter": letter.id, "event": event_id, "certificate": certificate.id, "kecamatan": p.kecamatan_id,
               "kota": db.session.scalar(select(Kota.id).where(Kota.code == "31.74")), "nik": p.nik,
               "phone": p.phone}
        # Tebet's week, submitted and approved: its kept files are documents too.
        from app.reports.figures import monday_of
        from app.reports.submissions import build_files, decide, freeze

        snapshot = freeze(p.kecamatan_id, monday_of(today_wib()) - timedelta(days=7), users["staff"].id)
        db.session.commit()
        decide(snapshot.submission, users["manager_kota"].id, True)
        db.session.commit()
        with app.test_request_context():
            build_files(snapshot.id)
        ids["snapshot"] = snapshot.id
    assert ids["phone"] == "+6281377778888"
    return ids


def text_of(response) -> str:
    data = response.data
    response.close()
    if response.mimetype == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if response.mimetype == "text/csv":
        return "\n".join(",".join(row) for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(data))
    return "\n".join(" ".join(str(c) for c in row if c is not None)
                     for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))


def fetch(app, doc: Doc, username: str, ids: dict):
    client = app.test_client()
    assert login(client, username).status_code == 302
    url = doc.url.format(**ids)
    if doc.method == "POST":
        return post_form(client, url, {"participant_id": str(ids["participant"])})
    return client.get(url)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_full_nik_and_phone_only_for_admin_and_staff(app, make_user, make_participant, make_course, doc):
    ids = world(app, make_user, make_participant, make_course)
    allowed = getattr(app.view_functions[doc.endpoint], "allowed_roles", None)
    opened = []
    for key, (role, _scope, username) in USERS.items():
        response = fetch(app, doc, username, ids)
        if allowed is not None and role not in allowed:
            assert response.status_code == 403, (doc.name, key, response.status_code)
            continue
        if key in doc.refused:
            assert response.status_code == doc.refused[key], (doc.name, key, response.status_code)
            continue
        assert response.status_code == 200, (doc.name, key, response.get_data(as_text=True)[:300])
        if doc.image:
            assert response.mimetype in ("image/png", "image/jpeg"), (doc.name, key)
            opened.append(key)
            continue
        text = text_of(response)
        opened.append(key)
        if doc.lists_subject:
            assert SUBJECT in text, (doc.name, key)
        full = key in FULL
        for kind, value, masked in (("nik", ids["nik"], mask_nik(ids["nik"])),
                                    ("phone", ids["phone"], mask_phone(ids["phone"]))):
            shown = kind in doc.shows
            assert (value in text) == (shown and full), f"{doc.name} as {key}: full {kind} {'missing' if full else 'shown'}"
            if shown and not full:
                assert masked in text, f"{doc.name} as {key}: no masked {kind}"
    assert opened, doc.name


# Endpoints at a document's address that make a background job instead (its POST); the job's file is
# made by the same template and masking rule, checked in tests/test_jobs.py.
JOB_MAKERS = {"training.certificates_batch_job", "participants.card_sheet_job", "events.booth_list_job",
              "events.signup_list_job"}


def test_every_document_route_is_walked(app):
    documents = {rule.endpoint for rule in app.url_map.iter_rules()
                 if DOCUMENT_RULE.search(rule.rule) and rule.endpoint not in JOB_MAKERS}
    assert documents, "no document routes found"
    assert documents <= {d.endpoint for d in DOCS}, sorted(documents - {d.endpoint for d in DOCS})
