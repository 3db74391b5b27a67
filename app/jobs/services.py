"""Making, running and finishing jobs.

A view makes a job with :func:`create_job` inside its request's transaction, commits, then calls
:func:`enqueue` (decide, commit, then hand over). The worker runs :func:`run_job`, which calls the
kind's handler (registered with :func:`handler`) as the job's owner: the handler's queries go through
the same scoping function as the owner's requests. A handler locks the job row first
(:func:`claim`), applies its work and :func:`finish` in one transaction; a job already ``done`` is
left alone, so a retried or twice-delivered task never applies its work twice.

A job that stops without an answer (the worker killed mid-work) is found by :func:`recover_stalled`
(a periodic task) and queued again, up to :data:`MAX_ATTEMPTS` times; then it fails with a message.
"""
import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import current_app, g
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..core.db import lock_row
from ..core.errors import DomainError
from ..core.timeutil import utcnow
from ..extensions import db
from . import queue
from .models import ImportUpload, Job, JobFilePart

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)  # a job's file (and the job) is kept this long after it finished
PART_BYTES = 4 * 1024 * 1024
MAX_ATTEMPTS = 3
FAILED_UNKNOWN = ("Pekerjaan gagal karena kesalahan di server; tidak ada yang disimpan. Coba lagi, atau hubungi "
                  "admin bila terulang.")
FAILED_STALLED = ("Pekerjaan terhenti {n} kali sebelum selesai (pekerja dihentikan); tidak ada yang disimpan. "
                  "Coba lagi, atau hubungi admin bila terulang.")

HANDLERS: dict[str, Callable[[int, "Progress"], None]] = {}


class JobRefused(DomainError):
    """The job cannot be done (its upload is gone, the owner lost the region): it fails with this message."""


def handler(kind: str):
    """Register the function that does the work of jobs of ``kind``: ``fn(job_id, progress)``."""
    def decorator(fn):
        HANDLERS[kind] = fn
        return fn
    return decorator


# --- Making a job (in a request) ----------------------------------------------------------------

def create_job(kind: str, title: str, user, params: dict, *, unit: str = "baris", total: int = 0,
               kecamatan=None, once_key: str | None = None) -> Job:
    """A queued job of ``user`` in the current transaction. Its region is ``kecamatan`` when given (an
    import into one kecamatan), else the user's own. With ``once_key``, the job already made for that
    key is returned instead of a second one (two tabs of one import preview)."""
    if once_key:
        existing = db.session.scalars(select(Job).where(Job.once_key == once_key)).first()
        if existing is not None:
            return existing
    if kecamatan is not None:
        level, kota_id, kecamatan_id = "kecamatan", kecamatan.kota_id, kecamatan.id
    else:
        level, kota_id, kecamatan_id = user.scope_level, user.kota_id, user.kecamatan_id
        if level == "kecamatan" and kecamatan_id is not None:
            from ..regions.models import Kecamatan

            kota_id = db.session.get(Kecamatan, kecamatan_id).kota_id
    job = Job(kind=kind, title=title[:200], user_id=user.id, role=user.role, scope_level=level, kota_id=kota_id,
              kecamatan_id=kecamatan_id, params=params, unit=unit, total=total, once_key=once_key,
              state="queued", created_at=utcnow(), updated_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:  # the same once_key committed meanwhile by a concurrent request
        return db.session.scalars(select(Job).where(Job.once_key == once_key)).one()
    return job


def enqueue(job_id: int) -> bool:
    """Hand the job to the queue (after the commit that made it). False if the queue's store is
    unreachable: the job stays queued, the page says the queue is not running, and
    :func:`recover_stalled` hands it over again once it runs."""
    from .tasks import run_job_task

    try:
        run_job_task(job_id)
        return True
    except Exception:  # noqa: BLE001 - Redis down, a locked file: the page tells the user
        log.exception("could not enqueue job %s", job_id)
        return False


# --- Running a job (in the worker) ------------------------------------------------------------

class Progress:
    """How far a job got, told to the queue's store at most twice a second (never the app database:
    an import holds SQLite's write lock for its whole transaction)."""

    def __init__(self, job_id: int, total: int):
        self.job_id = job_id
        self.total = total
        self.done = 0
        self._told = 0.0

    def __call__(self, done: int, total: int | None = None, force: bool = False) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if force or now - self._told >= 0.5:
            self._told = now
            try:
                queue.put_progress(self.job_id, self.done, self.total)
            except Exception:  # noqa: BLE001 - progress is a courtesy; the work goes on
                pass


@contextlib.contextmanager
def as_owner(user, method: str = "GET", path: str = "/", query_string=None, base_url: str | None = None):
    """A request context in which ``user`` is the current user: scoping, masking and the audit log
    read it exactly as in the owner's own requests. ``GET`` reads without SQLite's write lock;
    ``base_url`` is the address links in documents are made on."""
    with current_app.test_request_context(path, method=method, query_string=query_string, base_url=base_url):
        g._login_user = user
        yield


def run_job(job_id: int) -> None:
    """Run one job by its id (the queue's task). A finished job is left alone."""
    from ..auth.models import User

    db.session.remove()
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        db.session.rollback()
        return
    job = lock_row(Job, job_id)
    if job.finished:
        db.session.rollback()
        return
    job.state = "running"
    job.attempts += 1
    job.started_at = job.started_at or utcnow()
    job.updated_at = utcnow()
    kind, total, user_id, attempts = job.kind, job.total, job.user_id, job.attempts
    db.session.commit()
    progress = Progress(job_id, total)
    progress(0, total, force=True)
    owner = db.session.get(User, user_id)
    fn = HANDLERS.get(kind)
    try:
        if fn is None:
            raise JobRefused("Jenis pekerjaan ini tidak dikenal oleh pekerja; perbarui aplikasi.")
        if owner is None or not owner.active:
            raise JobRefused("Pemilik pekerjaan ini sudah tidak aktif; pekerjaan tidak dijalankan.")
        fn(job_id, progress)
    except DomainError as err:
        db.session.rollback()
        fail(job_id, err.message)
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed on attempt %s", job_id, kind, attempts)
        if attempts >= MAX_ATTEMPTS:
            fail(job_id, FAILED_UNKNOWN)
        else:
            _requeue(job_id)
            raise  # the queue retries it (after a delay)
    finally:
        db.session.remove()


def claim(job_id: int) -> Job | None:
    """In a handler: lock the job's row for the transaction that applies the work. None when it is
    already done (a retry of applied work): the handler then does nothing."""
    job = lock_row(Job, job_id)
    return None if job.state == "done" else job


def finish(job: Job, *, result: dict | None = None, file: tuple[str, str, io.BufferedIOBase] | None = None,
           progress: Progress | None = None) -> None:
    """Mark the (claimed) job done in the current transaction, with its summary and file ``(name, mime,
    stream)`` written in parts; the caller commits."""
    now = utcnow()
    db.session.execute(delete(JobFilePart).where(JobFilePart.job_id == job.id))
    if file is not None:
        name, mime, stream = file
        stream.seek(0)
        size = part = 0
        while chunk := stream.read(PART_BYTES):
            db.session.add(JobFilePart(job_id=job.id, part=part, data=chunk))
            db.session.flush()
            part += 1
            size += len(chunk)
        job.file_name, job.file_mime, job.file_size = name[:200], mime, size
    if progress is not None:
        job.done, job.total = progress.done, progress.total
    job.result = result
    job.state = "done"
    job.message = None
    job.finished_at = job.updated_at = now
    job.expires_at = now + KEEP


def fail(job_id: int, message: str) -> None:
    db.session.rollback()
    job = lock_row(Job, job_id)
    if job.state != "done":
        job.state = "failed"
        job.message = message
        job.finished_at = job.updated_at = utcnow()
        job.expires_at = utcnow() + KEEP
    db.session.commit()
    queue.drop_progress(job_id)


def _requeue(job_id: int) -> None:
    db.session.rollback()
    db.session.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                       .values(state="queued", updated_at=utcnow()))
    db.session.commit()


# --- Reading a job (in a request) -----------------------------------------------------------

def live_progress(job: Job) -> tuple[int, int, float | None]:
    """(done, total, seconds left or None) of a job: the worker's latest word, else the record's."""
    if job.state == "done":
        return job.total or job.done, job.total or job.done, 0
    told = queue.get_progress(job.id) if job.state == "running" else None
    if told is None:
        return job.done, job.total, None
    done, total, _at = told
    left = None
    if job.started_at is not None and 0 < done < total:
        elapsed = (utcnow() - job.started_at).total_seconds()
        left = max(1.0, elapsed * (total - done) / done)
    return done, total, left


def worker_alive(app=None) -> bool:
    app = app or current_app
    beat = queue.last_beat()
    return beat is not None and time.time() - beat <= app.config["JOB_WORKER_STALE_SECONDS"]


def file_parts(job_id: int) -> Iterator[bytes]:
    """The job's file, one part per query."""
    part = 0
    while True:
        data = db.session.scalar(select(JobFilePart.data).where(JobFilePart.job_id == job_id,
                                                                JobFilePart.part == part))
        if data is None:
            return
        yield bytes(data)
        part += 1


# --- Housekeeping (periodic) ----------------------------------------------------------------

def recover_stalled(now: datetime | None = None) -> list[int]:
    """Queue again the jobs a worker lost: running with no progress told for JOB_STALL_SECONDS (the
    worker was killed), or queued that long without starting (the queue's store was away). After
    MAX_ATTEMPTS starts a job fails with a message instead. Returns the ids queued again."""
    now = now or utcnow()
    limit = current_app.config["JOB_STALL_SECONDS"]
    again: list[int] = []
    for job in db.session.scalars(select(Job).where(Job.state.in_(("queued", "running")),
                                                    Job.updated_at < now - timedelta(seconds=limit))):
        told = queue.get_progress(job.id)
        if job.state == "running" and told is not None and time.time() - told[2] < limit:
            continue  # still working, and saying so
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.message = "failed", FAILED_STALLED.format(n=job.attempts)
            job.finished_at = job.updated_at = now
            job.expires_at = now + KEEP
            continue
        job.state, job.updated_at = "queued", now
        again.append(job.id)
    db.session.commit()
    for job_id in again:
        enqueue(job_id)
    return again


def delete_expired(now: datetime | None = None) -> tuple[int, int]:
    """Delete the jobs (with their files) past their day, and import uploads older than a day."""
    now = now or utcnow()
    expired = list(db.session.scalars(select(Job.id).where(Job.expires_at < now)))
    if expired:
        db.session.execute(delete(JobFilePart).where(JobFilePart.job_id.in_(expired)))
        db.session.execute(delete(Job).where(Job.id.in_(expired)))
    uploads = db.session.execute(delete(ImportUpload).where(ImportUpload.created_at < now - KEEP)).rowcount
    db.session.commit()
    for job_id in expired:
        queue.drop_progress(job_id)
    return len(expired), uploads
