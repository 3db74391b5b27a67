"""Sign-in sheets, certificates and the public certificate check."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.errors import DomainError
from ..core.forms import show_error
from ..core.access import ADMIN, MANAGER, STAFF, roles_required
from ..core.pagination import paginate
from ..core.public import public_url
from ..core.pdf import PAPERS, image_response, pdf_page_image, pdf_response, render_pdf, render_pdf_batch
from ..core.scoping import get_or_404, scoped
from ..core.security import public_lookup_limit
from ..extensions import db
from ..jobs.documents import document_job, document_response
from ..participants.services import mask_name
from ..settings.services import letterhead_for
from . import bp
from .access import DOC_ROLES
from .jobs import certificate_items
from .models import Certificate, Course, Enrollment, Meeting
from .services import (find_certificate, is_standing, issue_certificates, issue_for_graduates,
                       issued_certificates, standing, waiting_for_certificate)
from .views_roster import roster_rows


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


def certificates_content(course: Course, certificates: list[Certificate]) -> bytes:
    return render_pdf_batch("pdf/certificates.html", certificates, prepare=certificate_items, paper="A4",
                            landscape=True, course=course, letterhead=letterhead_for(course.kecamatan))


@bp.app_template_global("certificate_message")
def certificate_message(certificate: Certificate) -> str:
    """The WhatsApp message sent with a certificate's image: short, Indonesian, the public check link."""
    first = (certificate.participant.name or "").split(" ")[0]
    return (f"Selamat, {first}! Sertifikat pelatihan {certificate.course.title} Anda sudah terbit, nomor "
            f"{certificate.number}. Keasliannya dapat diperiksa di {public_url('training.verify', code=certificate.code)}")


def _certificates_pdf(course: Course, certificates: list[Certificate], filename: str):
    content = certificates_content(course, certificates)
    audit.record("document.certificates", entity_type="course", entity_id=course.id, kecamatan_id=course.kecamatan_id,
                 summary=f"Cetak {len(certificates)} sertifikat {course.title}")
    db.session.commit()
    return pdf_response(content, filename)


@bp.get("/pelatihan/<int:course_id>/sertifikat/terbitkan")
@roles_required(*DOC_ROLES)
def certificates_confirm(course_id: int):
    """What issuing would issue: the graduates without a certificate. Shows, writes nothing."""
    course = get_or_404(Course, course_id)
    return render_template("training/certificates_issue.html", course=course, waiting=waiting_for_certificate(course),
                           issued=len(issued_certificates(course)))


@bp.post("/pelatihan/<int:course_id>/sertifikat/terbitkan")
@roles_required(*DOC_ROLES)
def certificates_issue(course_id: int):
    course = get_or_404(Course, course_id)
    issued = issue_for_graduates(course, current_user)
    db.session.commit()
    if issued:
        flash(f"{len(issued)} sertifikat diterbitkan (nomor {issued[0].number}"
              + (f" s.d. {issued[-1].number}" if len(issued) > 1 else "") + "). Sertifikat dapat dicetak sekarang.",
              "success")
    else:
        flash("Tidak ada sertifikat baru: semua peserta yang lulus sudah mempunyai sertifikat.", "info")
    return redirect(url_for("training.course", course_id=course.id))


@bp.post("/pelatihan/peserta/<int:enrollment_id>/sertifikat")
@roles_required(*DOC_ROLES)
def certificate_issue(enrollment_id: int):
    enrollment = get_or_404(Enrollment, enrollment_id)
    back = (url_for("participants.detail", participant_id=enrollment.participant_id)
            if request.form.get("dari") == "peserta" else url_for("training.course", course_id=enrollment.course_id))
    try:
        (certificate,) = issue_certificates(enrollment.course, [enrollment], current_user)
    except DomainError as err:
        db.session.rollback()
        show_error(err)
        return redirect(back)
    db.session.commit()
    flash(f"Sertifikat {certificate.number} untuk {enrollment.participant.name} sudah terbit dan dapat dicetak.",
          "success")
    return redirect(back)


@bp.get("/pelatihan/<int:course_id>/sertifikat.pdf")
@roles_required(*DOC_ROLES)
def certificates_batch(course_id: int):
    """The certificates already issued for the course (issuing is a POST of its own); more than
    PDF_JOB_PAGES: a button whose POST has the worker print them."""
    course = get_or_404(Course, course_id)
    return document_response("training.certificates", {"course_id": course.id})


@bp.post("/pelatihan/<int:course_id>/sertifikat.pdf")
@roles_required(*DOC_ROLES)
def certificates_batch_job(course_id: int):
    course = get_or_404(Course, course_id)
    return document_job("training.certificates", {"course_id": course.id})


@bp.get("/pelatihan/peserta/<int:enrollment_id>/sertifikat.pdf")
@roles_required(*DOC_ROLES)
def certificate_one(enrollment_id: int):
    """The issued certificate of one enrolment; issuing is a POST of its own."""
    enrollment = get_or_404(Enrollment, enrollment_id)
    certificate = db.session.scalars(select(Certificate).options(joinedload(Certificate.participant)).where(
        Certificate.course_id == enrollment.course_id, Certificate.participant_id == enrollment.participant_id)).first()
    if certificate is None:
        flash(f"Sertifikat untuk {enrollment.participant.name} belum diterbitkan. Terbitkan dulu dengan tombol "
              "“Terbitkan” di daftar peserta, lalu cetak.", "error")
        return redirect(url_for("training.course", course_id=enrollment.course_id))
    if not is_standing(certificate):
        _void_message(certificate)
        return redirect(url_for("training.course", course_id=enrollment.course_id))
    return _certificates_pdf(enrollment.course, [certificate], f"sertifikat-{certificate.code}.pdf")


def _void_message(certificate: Certificate) -> None:
    flash(f"Sertifikat {certificate.number} untuk {certificate.participant.name} tidak berlaku lagi dan tidak "
          "dicetak: kehadirannya tidak lagi memenuhi syarat lulus (dikoreksi setelah sertifikat terbit).", "error")


@bp.get("/sertifikat/<int:certificate_id>.png")
@roles_required(*DOC_ROLES)
def certificate_image(certificate_id: int):
    """An issued certificate as an image for WhatsApp (rasterised from its PDF)."""
    certificate = get_or_404(Certificate, certificate_id)  # the user's scope: 404 outside it
    if not is_standing(certificate):
        _void_message(certificate)
        return redirect(url_for("training.certificate_register"))
    content, mime = pdf_page_image(certificates_content(certificate.course, [certificate]))
    audit.record("document.certificate_image", entity_type="course", entity_id=certificate.course_id,
                 kecamatan_id=certificate.course.kecamatan_id,
                 summary=f"Gambar sertifikat {certificate.number} untuk WhatsApp")
    db.session.commit()
    return image_response(content, mime, f"sertifikat-{certificate.code}")


@bp.get("/sertifikat")
@roles_required(ADMIN, MANAGER, STAFF)
def certificate_register():
    stmt = scoped(select(Certificate), Certificate).options(
        joinedload(Certificate.participant), joinedload(Certificate.course)).order_by(Certificate.issued_at.desc(),
                                                                                     Certificate.number.desc())
    page = paginate(stmt, request.args.get("hal", 1))
    void = set(db.session.scalars(select(Certificate.id).where(Certificate.id.in_([c.id for c in page.items]),
                                                                ~standing())))
    return render_template("training/certificates.html", page=page, void=void)


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
                "kecamatan": certificate.course.kecamatan.name, "number": certificate.number,
                "standing": enrollment is not None and enrollment.completed_on is not None}
    return render_template("training/verify.html", info=info, code=code[:20]), 200 if info else 404
