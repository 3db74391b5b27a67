"""Sign-in sheets, certificates and the public certificate check."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.access import ADMIN, FACILITATOR, MANAGER, STAFF, roles_required
from ..core.pagination import paginate
from ..core.pdf import PAPERS, pdf_response, qr_svg, render_pdf
from ..core.scoping import get_or_404, scoped
from ..core.security import public_lookup_limit
from ..extensions import db
from ..participants.models import Participant
from ..participants.services import mask_name
from ..settings.services import letterhead_for
from . import bp
from .models import Certificate, Course, Enrollment, Meeting
from .services import TrainingError, find_certificate, issue_certificates
from .views_roster import roster_rows

DOC_ROLES = (ADMIN, STAFF, FACILITATOR)


@bp.get("/pertemuan/<int:meeting_id>/daftar-hadir.pdf")
@roles_required(*DOC_ROLES)
def sign_in_sheet(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    paper = request.args.get("kertas", "A4").upper()
    if paper not in PAPERS:
        abort(404)
    rows = roster_rows(meeting)
    content = render_pdf("pdf/sign_in_sheet.html", paper=paper, meeting=meeting, rows=rows,
                         letterhead=letterhead_for(meeting.course.kecamatan))
    audit.record("document.sign_in_sheet", meeting, kecamatan_id=meeting.course.kecamatan_id,
                 changes={}, summary=f"Cetak daftar hadir {meeting.label} ({len(rows)} baris, {paper})")
    db.session.commit()
    return pdf_response(content, f"daftar-hadir-{meeting.course_id}-{meeting.number}.pdf")


def _certificates_pdf(course: Course, certificates: list[Certificate], filename: str):
    letterhead = letterhead_for(course.kecamatan)
    items = [{"c": c, "qr": qr_svg(url_for("training.verify", code=c.code, _external=True), scale=2)}
             for c in certificates]
    completed = {e.participant_id: e.completed_on for e in course.enrollments}
    content = render_pdf("pdf/certificates.html", paper="A4", landscape=True, course=course, items=items,
                         letterhead=letterhead, completed=completed)
    audit.record("document.certificates", entity_type="course", entity_id=course.id, kecamatan_id=course.kecamatan_id,
                 summary=f"Cetak {len(certificates)} sertifikat {course.title}")
    db.session.commit()
    return pdf_response(content, filename)


@bp.get("/pelatihan/<int:course_id>/sertifikat.pdf")
@roles_required(*DOC_ROLES)
def certificates_batch(course_id: int):
    course = get_or_404(Course, course_id)
    completed = db.session.scalars(select(Enrollment).join(Participant).options(joinedload(Enrollment.participant))
                                   .where(Enrollment.course_id == course.id, Enrollment.completed_on.is_not(None))
                                   .order_by(Participant.name_key)).all()
    if not completed:
        flash("Belum ada peserta yang lulus pelatihan ini; sertifikat belum dapat dicetak.", "error")
        return redirect(url_for("training.course", course_id=course.id))
    certificates = issue_certificates(course, list(completed), current_user)
    db.session.commit()  # the numbers are decided: no write lock held while the PDF renders
    return _certificates_pdf(course, certificates, f"sertifikat-pelatihan-{course.id}.pdf")


@bp.get("/pelatihan/peserta/<int:enrollment_id>/sertifikat.pdf")
@roles_required(*DOC_ROLES)
def certificate_one(enrollment_id: int):
    enrollment = get_or_404(Enrollment, enrollment_id)
    try:
        certificates = issue_certificates(enrollment.course, [enrollment], current_user)
    except TrainingError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("training.course", course_id=enrollment.course_id))
    db.session.commit()  # the number is decided: no write lock held while the PDF renders
    return _certificates_pdf(enrollment.course, certificates, f"sertifikat-{certificates[0].code}.pdf")


@bp.get("/sertifikat")
@roles_required(ADMIN, MANAGER, STAFF)
def certificate_register():
    stmt = scoped(select(Certificate), Certificate).options(
        joinedload(Certificate.participant), joinedload(Certificate.course)).order_by(Certificate.issued_at.desc(),
                                                                                     Certificate.number.desc())
    page = paginate(stmt, request.args.get("hal", 1))
    return render_template("training/certificates.html", page=page)


@bp.get("/verifikasi/<code>")
@public_lookup_limit()
def verify(code: str):
    """Public: is this certificate genuine? Partly masked name, course, date and kecamatan only."""
    certificate = find_certificate(code)
    info = None
    if certificate is not None:
        enrollment = db.session.scalars(select(Enrollment).where(
            Enrollment.course_id == certificate.course_id, Enrollment.participant_id == certificate.participant_id)).first()
        info = {"name": mask_name(certificate.participant.name), "course": certificate.course.title,
                "completed": enrollment.completed_on if enrollment else None,
                "kecamatan": certificate.course.kecamatan.name, "number": certificate.number}
    return render_template("training/verify.html", info=info, code=code[:20]), 200 if info else 404
