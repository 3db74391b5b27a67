"""Background work of P1: an import's commit step, a large export (handlers of app.jobs), and the
card sheets (documents: printed by the worker when long)."""
import tempfile

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.errors import DomainError
from ..core.pdf import qr_image
from ..core.scoping import scoped
from ..core.timeutil import parse_date
from ..extensions import db
from ..jobs.documents import Document, document, pages_for, pdf_batch
from ..jobs.models import Job
from ..jobs.services import JobRefused, Progress, as_owner, claim, finish, handler
from ..regions.models import Kecamatan
from ..settings.services import letterhead_for
from .models import Participant

PREVIEW_BAD_ROWS = 500


@handler("participants.import")
def run_import(job_id: int, progress: Progress) -> None:
    """Import an upload's good rows: the participants, the audit, the upload's deletion and the job's
    ``done`` in one transaction, after locking the job (a retry finds it done and adds no one)."""
    from .importer import apply_import, load_upload

    job = db.session.get(Job, job_id)
    params, owner, kecamatan_id = job.params, job.user_id, job.kecamatan_id
    from ..auth.models import User

    user = db.session.get(User, owner)
    with as_owner(user, "POST"):
        job = claim(job_id)
        if job is None:
            return
        kecamatan = db.session.scalars(scoped(select(Kecamatan).where(Kecamatan.id == kecamatan_id), Kecamatan)).first()
        if kecamatan is None:
            raise JobRefused("Kecamatan impor ini di luar wilayah Anda; tidak ada yang disimpan.")
        payload = load_upload(params["token"], user.id)
        if payload is None:
            raise JobRefused("Berkas impor ini sudah tidak tersedia (lebih dari sehari, atau sudah diimpor); "
                             "unggah berkasnya lagi.")
        try:
            created, skipped = apply_import(params["token"], payload, kecamatan, params["mapping"], user.id,
                                            progress)
        except DomainError as err:
            raise JobRefused(f"Impor dibatalkan, tidak ada yang disimpan: {err.message} Unggah dan periksa lagi.") \
                from err
        progress(len(payload["rows"]), len(payload["rows"]))
        finish(job, progress=progress, result={
            "created": created, "skipped_total": len(skipped), "filename": payload["filename"],
            "kecamatan": kecamatan.name,
            "skipped": [{"number": r.number, "values": {"nik": r.values.get("nik", ""), "name": r.values.get("name", "")},
                         "errors": r.errors} for r in skipped[:PREVIEW_BAD_ROWS]]})
        db.session.commit()


@handler("participants.export")
def run_export(job_id: int, progress: Progress) -> None:
    """Write the owner's filtered list (their scope, their masking) to a file kept with the job. The
    file is made first, then stored with ``done`` in one short transaction."""
    from .access import personal_data_for
    from .queries import participant_query
    from .views import filter_form
    from .views_export import XLSX_MIME, export_filename, write_export
    from ..auth.models import User

    job = db.session.get(Job, job_id)
    params = job.params
    user = db.session.get(User, job.user_id)
    fmt = params["fmt"]
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as out:
        with as_owner(user, "GET", "/peserta", query_string=params["args"]):
            _form, filters = filter_form()
            stmt = participant_query(filters)
            total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            progress(0, total, force=True)
            write_export(fmt, stmt, personal_data_for(user), out, lambda done: progress(min(done, total)),
                         sort=filters.get("urut"))
            progress(total, total, force=True)
            db.session.rollback()  # end the reading transaction before the write
        with as_owner(user, "POST"):
            job = claim(job_id)
            if job is None:
                return
            finish(job, progress=progress, file=(export_filename(fmt), "text/csv" if fmt == "csv" else XLSX_MIME, out))
            db.session.commit()


CARDS_PER_PAGE = 8  # 2 x 4 cards of 85.6 x 54 mm on an A4 sheet


def card_items(participants: list) -> list[dict]:
    return [{"p": p, "qr": qr_image(p.reg_number)} for p in participants]


def cards_document(participants: list, filename: str, sheet: bool, empty: str | None = None) -> Document:
    """Participant cards: one (``sheet=False``) or A4 sheets with cut lines, on each card's kecamatan letterhead."""
    by_kecamatan = {p.kecamatan_id: p.kecamatan for p in participants}
    summary = f"Cetak {len(participants)} kartu peserta"
    return pdf_batch(summary, "pdf/cards.html", participants, filename,
                     {"action": "document.cards", "entity_type": "participant",
                      "entity_id": participants[0].id if len(participants) == 1 else None,
                      "kecamatan_id": participants[0].kecamatan_id if len(by_kecamatan) == 1 else None,
                      "summary": summary},
                     url_for("participants.index"), pages=pages_for(len(participants), CARDS_PER_PAGE),
                     prepare=card_items, items_name="cards", chunk=100, unit="kartu", empty=empty, paper="A4",
                     sheet=sheet, letterheads={k: letterhead_for(kec) for k, kec in by_kecamatan.items()})


@document("participants.cards")
def card_sheet_document(params: dict) -> Document | None:
    """The cards of everyone active registered on a day (``tanggal``), within the user's scope: all of
    them (a province's day can bring a thousand; a sheet longer than ``PDF_JOB_PAGES`` is the worker's)."""
    from .queries import utc_start_of_day

    day = parse_date(params.get("tanggal") or "")
    if day is None:
        return None
    stmt = scoped(select(Participant), Participant).options(selectinload(Participant.kecamatan)).where(
        Participant.status == "active", Participant.verified_at >= utc_start_of_day(day),
        Participant.verified_at < utc_start_of_day(day, end=True)).order_by(Participant.reg_number)
    participants = list(db.session.scalars(stmt))
    return cards_document(participants, f"kartu-peserta-{day.isoformat()}.pdf", sheet=True,
                          empty=f"Tidak ada peserta yang terdaftar pada {day.day}-{day.month}-{day.year} untuk dicetak "
                                "kartunya.")
