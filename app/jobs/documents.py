"""Documents made for a user: in the request when short, by the worker when long — one path for all.

A domain declares each document (a batch PDF, the province's weekly report file) once, with
:func:`document`: a loader ``fn(params) -> Document | None`` that, as the current user, reads what the
document holds through the scoping function (None: not found or outside the user's scope). The same
loader serves the request (the owner) and the worker (as the job's owner, :func:`as_owner`), so a
job prints exactly what its owner could print, masked as they see it.

- ``GET`` (:func:`document_response`): nothing in it → a message on the page it came from; a short
  document → the file at once, audited; a long one (``background``: a batch of more than
  ``PDF_JOB_PAGES`` pages, a weekly report of a kota or the province) → a page with its size and a
  button. A GET never writes.
- ``POST`` to the same address (:func:`document_job`): the job, then its progress page (the
  form's one-time token makes a double-click answer the same job).
- The worker (:func:`run_document`) writes the file, then stores it with its audit entry and the job's
  ``done`` in one transaction after locking the job (a retry prints and audits nothing twice). The
  download is the job's (scoped by the job's region and role, audited, kept a day).
"""
import io
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..core import audit
from ..core.formatting import angka
from ..core.pdf import render_pdf_batch
from ..extensions import db
from .services import JobRefused, Progress, as_owner, claim, create_job, enqueue, finish, handler

PDF = "application/pdf"
PAGES_PER_PART = 50  # records a batch renders at a time, unless it says otherwise
GONE = "Dokumen ini tidak ada lagi atau di luar wilayah Anda; tidak ada yang dibuat."


@dataclass
class Document:
    """One document for the current user. ``write(out, progress)`` writes it into a binary stream,
    telling ``progress(done)`` (of ``total`` ``unit``) as it goes; ``empty`` says, in Indonesian, that
    there is nothing in it (then it is never written) and ``back`` is where that is said."""

    title: str
    filename: str
    write: Callable[[BinaryIO, Callable[[int], None] | None], None]
    audit: dict  # audit.record's arguments: action, summary, entity_type, entity_id, kecamatan_id
    background: bool
    back: str
    total: int = 0
    unit: str = "halaman"
    size: str = ""  # what the button page says of its size ("240 halaman")
    mime: str = PDF
    empty: str | None = None
    kecamatan: object = None  # the region a job covers (default: the user's own)


def pdf_batch(title: str, template: str, records: list, filename: str, audit: dict, back: str, *,
              pages: int | None = None, prepare: Callable[[list], list] | None = None, items_name: str = "items",
              chunk: int | None = None, numbered: bool = False, unit: str = "halaman", empty: str | None = None,
              kecamatan=None, **render) -> Document:
    """A batch PDF of ``records`` (certificates, cards, letters, a list): rendered ``chunk`` records at
    a time (``prepare`` turns a chunk into the template's items: QR codes are made per part), so a
    long batch's memory stays bounded and its progress moves. ``pages`` (default one a record) decides
    whether it goes to the worker: more than PDF_JOB_PAGES. ``numbered``: the template prints
    "Halaman x dari y", counted across the parts (:func:`app.core.pdf.render_pdf_batch`)."""
    pages = len(records) if pages is None else pages

    def write(out, progress=None):
        out.write(render_pdf_batch(template, records, items_name=items_name, chunk=chunk or PAGES_PER_PART,
                                   prepare=prepare, progress=progress, numbered_pages=pages if numbered else None,
                                   **render))

    return Document(title=title, filename=filename, write=write, audit=audit, back=back, total=len(records),
                    unit=unit, size=f"{angka(pages)} halaman", empty=None if records else empty, kecamatan=kecamatan,
                    background=pages > current_app.config["PDF_JOB_PAGES"])


def pages_for(count: int, per_page: int) -> int:
    return math.ceil(count / per_page) if count else 0


LOADERS: dict[str, Callable[[dict], Document | None]] = {}


def document(kind: str):
    """Declare the loader of documents of ``kind`` (also the job kind its worker runs)."""
    def decorator(fn):
        LOADERS[kind] = fn
        handler(kind)(lambda job_id, progress: run_document(kind, job_id, progress))
        return fn
    return decorator


def load(kind: str, params: dict) -> Document | None:
    return LOADERS[kind](params)


# --- In a request --------------------------------------------------------------------------

def _record_audit(doc: Document) -> None:
    args = dict(doc.audit)
    audit.record(args.pop("action"), **args)


def document_response(kind: str, params: dict):
    """The GET of a document: its empty message, the button page of a long one, or the file now
    (a PDF opens in the browser, a spreadsheet downloads)."""
    doc = load(kind, params)
    if doc is None:
        abort(404)
    if doc.empty:
        flash(doc.empty, "info")
        return redirect(doc.back)
    if doc.background:  # a GET never writes: the button on this page makes the job
        return render_template("jobs/document_background.html", doc=doc, action=request.full_path.rstrip("?"))
    return respond(doc)


def respond(doc: Document):
    """A short document in the request's answer, audited (a single card or letter, a small batch)."""
    out = io.BytesIO()  # a short document: in memory, as before the worker made long ones
    doc.write(out, None)
    _record_audit(doc)
    db.session.commit()
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = doc.mime
    disposition = "inline" if doc.mime == PDF else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{doc.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def document_job(kind: str, params: dict, get_url: str | None = None):
    """The POST of a document: its job and progress page; when it has become short (or empty)
    meanwhile, back to the GET, which prints it at once (or says there is nothing)."""
    doc = load(kind, params)
    if doc is None:
        abort(404)
    if doc.empty or not doc.background:
        return redirect(get_url or request.full_path.rstrip("?"), 303)
    return queue_document(kind, params, doc)


def queue_document(kind: str, params: dict, doc: Document):
    """In a POST that has just decided what a long document holds (SKU letters numbered): its job in
    the same transaction, then the progress page."""
    job = create_job(kind, doc.title, current_user, params, unit=doc.unit, total=doc.total, kecamatan=doc.kecamatan)
    db.session.commit()
    enqueue(job.id)
    return redirect(url_for("jobs.show", job_id=job.id), 303)


# --- In the worker ---------------------------------------------------------------------------

def run_document(kind: str, job_id: int, progress: Progress) -> None:
    """Write the document as its owner (reading, no lock), then store it with its audit entry and
    ``done`` in one transaction."""
    from ..auth.models import User
    from .models import Job

    job = db.session.get(Job, job_id)
    params = dict(job.params)
    user = db.session.get(User, job.user_id)
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as out:
        with as_owner(user, "GET", base_url=current_app.config.get("PUBLIC_BASE_URL")):
            doc = load(kind, params)
            if doc is None:
                raise JobRefused(GONE)
            if doc.empty:
                raise JobRefused(doc.empty)
            progress(0, doc.total, force=True)
            doc.write(out, lambda done: progress(min(done, doc.total)))
            progress(doc.total, doc.total, force=True)
            db.session.rollback()  # end the reading transaction before the write
        with as_owner(user, "POST"):
            job = claim(job_id)
            if job is None:
                return
            _record_audit(doc)
            finish(job, progress=progress, file=(doc.filename, doc.mime, out))
            db.session.commit()

