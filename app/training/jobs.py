"""Background work of P2: a course's certificates as one large PDF; and, periodically, meetings left
open are closed as the facilitator would close them."""
import io
import tempfile
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app, request
from huey import crontab
from sqlalchemy import select

from ..core import audit
from ..core.db import lock_row
from ..core.pdf import qr_image, render_pdf
from ..core.public import public_url
from ..core.scoping import scoped
from ..core.timeutil import utcnow
from ..extensions import db
from ..jobs.models import Job
from ..jobs.queue import flask_app, huey
from ..jobs.services import JobRefused, Progress, as_owner, claim, create_job, finish, handler
from ..settings.services import letterhead_for
from .models import Course, Meeting
from .services import close_meeting, issued_certificates

CERTIFICATES_PER_RENDER = 20  # pages rendered at a time: the bar moves, memory stays bounded


def certificates_job(course: Course, count: int, user) -> Job:
    """The job that prints ``course``'s issued certificates (in the request; the caller commits).
    The verification links are made on PUBLIC_BASE_URL, as a printed batch's are."""
    return create_job("training.certificates", f"Cetak {count} sertifikat {course.title}", user,
                      {"course_id": course.id, "base_url": current_app.config.get("PUBLIC_BASE_URL") or request.host_url},
                      unit="halaman", total=count, kecamatan=course.kecamatan)


@handler("training.certificates")
def run_certificates(job_id: int, progress: Progress) -> None:
    """Render the certificates twenty at a time into one PDF, then store it with the job and its audit
    entry in one transaction (a retry prints and audits nothing twice)."""
    from pypdf import PdfReader, PdfWriter

    from ..auth.models import User

    job = db.session.get(Job, job_id)
    params = job.params
    user = db.session.get(User, job.user_id)
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as out:
        with as_owner(user, "GET", base_url=params["base_url"]):
            course = db.session.scalars(scoped(select(Course).where(Course.id == params["course_id"]), Course)).first()
            if course is None:
                raise JobRefused("Pelatihan ini tidak ada atau di luar wilayah Anda; tidak ada yang dicetak.")
            certificates = issued_certificates(course)
            if not certificates:
                raise JobRefused("Belum ada sertifikat yang diterbitkan untuk pelatihan ini; tidak ada yang dicetak.")
            progress(0, len(certificates), force=True)
            letterhead = letterhead_for(course.kecamatan)
            completed = {e.participant_id: e.completed_on for e in course.enrollments}
            writer = PdfWriter()
            for start in range(0, len(certificates), CERTIFICATES_PER_RENDER):
                chunk = certificates[start:start + CERTIFICATES_PER_RENDER]
                items = [{"c": c, "qr": qr_image(public_url("training.verify", code=c.code))} for c in chunk]
                content = render_pdf("pdf/certificates.html", paper="A4", landscape=True, course=course, items=items,
                                     letterhead=letterhead, completed=completed)
                writer.append(PdfReader(io.BytesIO(content)))
                progress(start + len(chunk))
            writer.write(out)
            count, title, kecamatan_id, course_id = len(certificates), course.title, course.kecamatan_id, course.id
            db.session.rollback()
        with as_owner(user, "POST"):
            job = claim(job_id)
            if job is None:
                return
            audit.record("document.certificates", entity_type="course", entity_id=course_id,
                         kecamatan_id=kecamatan_id, summary=f"Cetak {count} sertifikat {title}")
            finish(job, progress=progress, file=(f"sertifikat-pelatihan-{course_id}.pdf", "application/pdf", out))
            db.session.commit()


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
