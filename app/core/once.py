"""Exactly once for forms: a double-click or a resent form gives the first answer again.

Every POST form carries a one-time token (``{{ form_tokens(form) }}``, with the CSRF token; a
random value made when the form is drawn). The first POST with a token and content claims it: a row of
``form_submission`` inserted in the same transaction as the view's own work, so it is committed
with that work or rolled back with it (a refused form can be corrected and sent again). When
the view has answered, the answer (status, redirect target, htmx headers, and the body of a
fragment) is stored with the claim. A second POST with the same token meets the claim in the
database's unique key — on PostgreSQL its insert waits until the first transaction ends, on
SQLite the write lock orders them — and is answered with the stored answer instead of running
the view again: one record, one number, the same page.

The rules that must hold whatever the form (one NIK per participant, one open SKU letter per
participant, one mark per meeting) are stated by unique constraints in each domain; this token
makes the repeated request *look* right as well.
"""
import hashlib
import re
import secrets
import time
from datetime import datetime, timedelta
from functools import cache

from flask import Flask, Response, current_app, flash, g, message_flashed, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import ForeignKey, Integer, String, Text, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .db import reading_only, reads_from_now, run_prepared
from .timeutil import utcnow

FIELD = "_once"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
FLASH_LINE = "X-Once-Flash"  # a message the first answer flashed, kept with its headers
REPLAYED_HEADERS = ("Location", "Content-Type", "HX-Redirect", "HX-Trigger", "HX-Retarget", "HX-Reswap",
                    "HX-Refresh", "Content-Disposition")
MAX_BODY = 256 * 1024  # a fragment or a page; larger answers and files are not kept
KEEP = timedelta(days=1)
WAIT_SECONDS = 30  # how long a repeat waits for the first request's answer to be stored


class FormSubmission(db.Model):
    """A claimed form token and, once the view has answered, that answer."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(80))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)  # "Name: value" lines
    body: Mapped[str | None] = mapped_column(Text)


def once_field(token: str | None = None) -> Markup:
    """The hidden input with a fresh one-time token (or the given one)."""
    value = token if token is not None and TOKEN_RE.match(token) else secrets.token_urlsafe(24)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, value)


def form_tokens(form=None, once: str | None = None) -> Markup:
    """What every POST form carries: its CSRF token (with the form's other hidden fields) and a
    one-time token. The only way templates put either into a form (a test checks).

    ``once`` names the thing the form acts on when it must act on it once whatever page it was
    sent from (an import's upload: two tabs of one preview commit it once)."""
    hidden = form.hidden_tag() if form is not None else Markup(
        f'<input type="hidden" name="csrf_token" value="{generate_csrf()}">')
    return hidden + once_field(once)


def reads_only(view):
    """Mark a POST view that changes nothing (a live check sent with its form's fields): no claim,
    and on SQLite it reads without the write lock (core.db)."""
    view.once_exempt = True
    view.reads_only = True
    return view


def answered_again(view):
    """Mark a POST view whose repeat is answered by running it again as a read instead of with a
    stored answer: when its token was claimed already (by the same user), :func:`repeated` is true
    and the view changes nothing and answers with what stands now — a roster tap, whose row and
    counters as they are now are the right answer to a resent mark (a double tap, a replay from a
    phone that was offline). Its answer is not stored, which spares the busiest POSTs a second
    write transaction after their own."""
    view.answered_again = True
    return view


def repeated() -> bool:
    """This request repeats a form already applied (an :func:`answered_again` view): change nothing."""
    return g.get("once_repeat", False)


def forget_answer() -> None:
    """This answer shows a secret (a new password): keep only that the form was sent, so a
    repeat is told so instead of being shown the secret again."""
    g.once_forget = True


def _token() -> str | None:
    """The claim key of this POST: its one-time token together with what the form says.

    A double-click or a resent page sends the same token with the same content and is answered
    once. A form that stays on the page (an htmx search-and-add form, say) and is sent again
    with other content is a new request, not a repeat."""
    if request.method != "POST" or not current_user.is_authenticated:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "once_exempt", False):
        return None
    token = request.form.get(FIELD, "")
    if not TOKEN_RE.match(token):
        return None
    digest = hashlib.sha256()
    for part in (token, request.endpoint or "", request.path):
        digest.update(part.encode() + b"\0")
    for name, value in sorted(request.form.items(multi=True)):
        if name not in (FIELD, "csrf_token"):
            digest.update(name.encode("utf-8", "replace") + b"=" + value.encode("utf-8", "replace") + b"\0")
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        position = upload.stream.tell()
        content = hashlib.sha256(upload.stream.read()).hexdigest()
        upload.stream.seek(position)
        digest.update(f"{name}:{upload.filename}:{content}".encode("utf-8", "replace") + b"\0")
    return digest.hexdigest()


@cache
def _claim_statement(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(FormSubmission).values(token=bindparam("token"), user_id=bindparam("user_id"),
                                          endpoint=bindparam("endpoint"), claimed_at=bindparam("claimed_at"))
            .on_conflict_do_nothing(index_elements=["token"]).returning(FormSubmission.token))


def _claim(token: str) -> bool:
    """Insert the claim; False when another request holds it (after that request has ended)."""
    stmt = _claim_statement(db.session.get_bind().dialect.name)
    return run_prepared(stmt, {"token": token, "user_id": current_user.id, "endpoint": (request.endpoint or "")[:80],
                               "claimed_at": utcnow()}).scalar() is not None


_STORE_ANSWER = (update(FormSubmission).where(FormSubmission.token == bindparam("claimed"),
                                              FormSubmission.status.is_(None))
                 .values(status=bindparam("status"), headers=bindparam("headers"), body=bindparam("body")))


def _stored_answer(token: str) -> Response:
    """The first request's answer, waiting briefly while that request finishes storing it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        db.session.rollback()
        with reading_only():  # never hold SQLite's write lock the first request needs to store its answer
            row = db.session.execute(select(FormSubmission.user_id, FormSubmission.status, FormSubmission.headers,
                                            FormSubmission.body).where(FormSubmission.token == token)).first()
            db.session.rollback()
        if row is None:
            return None  # the first request was rolled back meanwhile: this one runs as the first
        if row.user_id != current_user.id:
            return _already_sent(409)
        if row.status is not None and row.body is None and row.status < 300:
            return _already_sent(200)
        if row.status is not None:
            response = Response(row.body or "", status=row.status)
            messages = []
            for line in (row.headers or "").splitlines():
                name, _, value = line.partition(": ")
                if name == FLASH_LINE:
                    messages.append(value.partition("\t")[::2])
                else:
                    response.headers[name] = value
            if response.status_code in range(300, 400) or "HX-Redirect" in response.headers:
                # The page it leads to shows the first answer's messages again (the session that
                # held them may have been written over by this very repeat, or shown already).
                for category, message in messages:
                    flash(message, category)
            response.headers["X-Once-Replayed"] = "1"
            return response
        if time.monotonic() > deadline:
            return _already_sent(200)
        time.sleep(0.05)


def _claimed_by(token: str) -> int | None:
    """Who holds the claim of ``token`` (None: nobody now); the request then goes on as a read."""
    owner = db.session.scalar(select(FormSubmission.user_id).where(FormSubmission.token == token))
    db.session.rollback()
    reads_from_now()  # never hold SQLite's write lock while answering again
    return owner


def _textual(response: Response) -> bool:
    """A page or a fragment, kept to answer a repeat; a file (PDF, XLSX) is made again on request instead."""
    mimetype = response.mimetype or ""
    return mimetype.startswith("text/") or mimetype == "application/json"


def _already_sent(status: int) -> Response:
    """When the first answer cannot be given again (a file, or it is still being made)."""
    from .errors import error_page

    html, _ = error_page(409, "Formulir ini sudah dikirim dan sudah atau sedang diproses; tidak dikirim dua "
                              "kali. Buka kembali daftar atau halaman data untuk melihat hasilnya.")
    return Response(html, status=status)


def _remember_flash(_app, message, category, **_extra) -> None:
    if g.get("once_token") is not None:
        g.setdefault("once_flashes", []).append((category, message))


def register_once(app: Flask) -> None:
    message_flashed.connect(_remember_flash, app)

    @app.before_request
    def _claim_token():
        token = _token()
        if token is None:
            return None
        again = getattr(current_app.view_functions.get(request.endpoint or ""), "answered_again", False)
        for _ in range(3):
            if _claim(token):
                g.once_token = None if again else token
                return None
            if again:
                owner = _claimed_by(token)
                if owner is None:
                    continue  # the first request was rolled back meanwhile: this one runs as the first
                if owner != current_user.id:
                    return _already_sent(409)
                g.once_repeat = True
                return None
            answer = _stored_answer(token)
            if answer is not None:
                return answer
        return _already_sent(409)

    @app.after_request
    def _store_answer(response: Response) -> Response:
        if g.get("once_repeat"):
            response.headers["X-Once-Replayed"] = "1"
        token = g.pop("once_token", None)
        if token is None:
            return response
        # Whatever the view left uncommitted (the claim of a refused form among it) is not kept.
        db.session.rollback()
        if response.status_code >= 500:
            return response
        body = None
        if (not response.direct_passthrough and response.status_code < 300 and _textual(response)
                and not g.pop("once_forget", False)):
            data = response.get_data()
            body = data.decode("utf-8", "replace").replace("\0", "\ufffd") if len(data) <= MAX_BODY else None
        headers = "\n".join([f"{name}: {response.headers[name]}" for name in REPLAYED_HEADERS
                              if name in response.headers]
                             + [f"{FLASH_LINE}: {category}\t{' '.join(str(message).split())}"
                                for category, message in g.pop("once_flashes", [])])
        run_prepared(_STORE_ANSWER, {"claimed": token, "status": response.status_code, "headers": headers, "body": body})
        if secrets.randbelow(200) == 0:
            db.session.execute(delete(FormSubmission).where(FormSubmission.claimed_at < utcnow() - KEEP))
        db.session.commit()
        return response

    app.add_template_global(form_tokens)
