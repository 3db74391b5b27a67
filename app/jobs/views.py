"""A job's progress page (polled by htmx every second) and its download."""
from flask import Response, abort, stream_with_context
from flask_login import current_user, login_required

from ..core import audit
from ..core.htmx import render
from ..core.scoping import get_or_404
from ..core.timeutil import utcnow
from ..extensions import db
from . import bp
from .models import Job
from .services import file_parts, live_progress, worker_alive


def _context(job: Job) -> dict:
    done, total, left = live_progress(job)
    percent = 100 if job.state == "done" else (int(done * 100 / total) if total else 0)
    downloadable = job.state == "done" and job.file_name is not None
    return {"job": job, "done": done, "total": total, "left": left, "percent": percent,
            "worker_down": not job.finished and not worker_alive(), "downloadable": downloadable}


@bp.get("/pekerjaan/<int:job_id>")
@login_required
def show(job_id: int):
    """The job's state: a progress bar while it waits or runs (the fragment polls itself every second
    until the job has finished), then the download or the import's summary, or why it failed."""
    job = get_or_404(Job, job_id)
    return render("jobs/show.html", "jobs/_progress.html", **_context(job))


@bp.get("/pekerjaan/<int:job_id>/unduh")
@login_required
def download(job_id: int):
    """The job's file, for the users who may see the job (others: 404), audited, streamed part by part."""
    job = get_or_404(Job, job_id)
    if job.state != "done" or job.file_name is None or (job.expires_at and job.expires_at < utcnow()):
        abort(404)
    audit.record("export.download", entity_type="job", entity_id=job.id, kecamatan_id=job.kecamatan_id,
                 summary=f"Unduh {job.file_name} ({job.title})",
                 changes={"file": {"before": None, "after": job.file_name}})
    name, mime, size = job.file_name, job.file_mime, job.file_size
    db.session.commit()
    response = Response(stream_with_context(file_parts(job_id)), mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if size is not None:
        response.headers["Content-Length"] = str(size)
    return response
