"""Background work of P2: a course's certificates as one PDF (a document: printed by the worker when
long); and, periodically, meetings left open are closed as the facilitator would close them."""
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app, url_for
from huey import crontab
from sqlalchemy import select

from ..core.db import lock_row
from ..core.pdf import qr_image
from ..core.public import public_url
from ..core.scoping import scoped
from ..core.timeutil import utcnow
from ..extensions import db
from ..jobs.documents import Document, document, pdf_batch
from ..jobs.queue import flask_app, huey
from ..jobs.services import as_owner
from ..settings.services import letterhead_for
from .models import Course, Meeting
from .services import close_meeting, issued_certificates

EMPTY_CERTIFICATES = ("Belum ada sertifikat yang diterbitkan untuk pelatihan ini. Terbitkan dulu dengan tombol "
                      "“Terbitkan sertifikat” di bagian Sertifikat, lalu cetak.")


def certificate_items(certificates: list) -> list[dict]:
    """What the certificate template prints of each: the certificate and its QR code to the public check."""
    return [{"c": c, "qr": qr_image(public_url("training.verify", code=c.code))} for c in certificates]


@document("training.certificates")
def certificates_document(params: dict) -> Document | None:
    """A course's issued certificates in one PDF, a page each (issuing is a POST of its own)."""
    course = db.session.scalars(scoped(select(Course).where(Course.id == params.get("course_id")), Course)).first()
    if course is None:
        return None
    certificates = issued_certificates(course)
    summary = f"Cetak {len(certificates)} sertifikat {course.title}"
    return pdf_batch(summary, "pdf/certificates.html", certificates, f"sertifikat-pelatihan-{course.id}.pdf",
                     {"action": "document.certificates", "entity_type": "course", "entity_id": course.id,
                      "kecamatan_id": course.kecamatan_id, "summary": summary},
                     url_for("training.course", course_id=course.id), prepare=certificate_items,
                     empty=EMPTY_CERTIFICATES, kecamatan=course.kecamatan, paper="A4", landscape=True, course=course,
                     letterhead=letterhead_for(course.kecamatan))


def stale_meetings(now: datetime | None = None) -> list[int]:
    """Open meetings whose end (WIB) lies more than MEETING_AUTO_CLOSE_HOURS before ``now`` (naive UTC)."""
    now = now or utcnow()
    hours = current_app.config["MEETING_AUTO_CLOSE_HOURS"]
    cutoff = now.replace(tzinfo=None) + timedelta(hours=7) - timedelta(hours=hours)  # in WIB, naive
    candidates = db.session.execute(select(Meeting.id, Meeting.date, Meeting.end_time)
                                    .where(Meeting.closed_at.is_(None), Meeting.date <= cutoff.date())
                                    .order_by(Meeting.date, Meeting.id)).all()
    return [row.id for row in candidates if datetime.combine(row.date, row.end_time) <= cutoff]


def close_stale_meetings(now: datetime | None = None) -> int:
    """Close every stale meeting, each in its own transaction, as its facilitator (or the course's
    maker when it has none): unmarked participants become Tidak hadir (automatic, and undone by
    reopening), completion follows, the audit log names the user. Returns how many were closed."""
    from ..auth.models import User

    closed = 0
    for meeting_id in stale_meetings(now):
        db.session.rollback()
        course_row = db.session.execute(select(Course.facilitator_id, Course.created_by_id).join(Meeting)
                                        .where(Meeting.id == meeting_id)).one()
        user_id = course_row.facilitator_id or course_row.created_by_id
        user = db.session.get(User, user_id) if user_id else None
        with as_owner(user, "POST"):
            meeting = lock_row(Meeting, meeting_id)
            if meeting.is_closed:  # closed by hand meanwhile
                db.session.rollback()
                continue
            close_meeting(meeting, user or SimpleNamespace(id=None))
            db.session.commit()
            closed += 1
    return closed


@huey.periodic_task(crontab(minute="*/10"))
def close_stale_meetings_task() -> None:
    with flask_app().app_context():
        close_stale_meetings()
