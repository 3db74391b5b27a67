"""Background work of P1: an import's commit step and a large export (handlers of app.jobs)."""
import tempfile

from sqlalchemy import func, select

from ..core.errors import DomainError
from ..core.scoping import scoped
from ..extensions import db
from ..jobs.models import Job
from ..jobs.services import JobRefused, Progress, as_owner, claim, finish, handler
from ..regions.models import Kecamatan

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
