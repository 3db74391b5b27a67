"""A participant's documents as images for WhatsApp (card, registration receipt), the receipt as PDF,
and the public check page their QR codes and messages point to."""
from flask import abort, render_template

from ..core import audit
from ..core.access import roles_required
from ..core.pdf import image_response, pdf_page_image, pdf_response, qr_image, render_pdf
from ..core.scoping import get_or_404
from ..core.security import public_lookup_limit
from ..extensions import db
from ..settings.services import letterhead_for
from . import bp
from .access import REGISTER_ROLES
from .models import Participant
from .services import mask_name
from .sharing import check_url, participant_id_of


def _active(participant_id: int) -> Participant:
    participant = get_or_404(Participant, participant_id)  # the user's scope: 404 outside it
    if participant.status != "active":
        abort(404)
    return participant


def card_image_pdf(participant: Participant) -> bytes:
    """One card on a page of its own size, to rasterise."""
    return render_pdf("pdf/cards.html", cards=[{"p": participant, "qr": qr_image(participant.reg_number)}],
                      sheet=False, image=True, total=1,
                      letterheads={participant.kecamatan_id: letterhead_for(participant.kecamatan)})


def receipt_pdf(participant: Participant) -> bytes:
    return render_pdf("pdf/receipt.html", p=participant, qr=qr_image(check_url(participant)),
                      letterhead=letterhead_for(participant.kecamatan))


@bp.get("/peserta/<int:participant_id>/kartu.png")
@roles_required(*REGISTER_ROLES)
def card_image(participant_id: int):
    participant = _active(participant_id)
    content, mime = pdf_page_image(card_image_pdf(participant), width=1080)
    audit.record("document.card_image", participant, kecamatan_id=participant.kecamatan_id, changes={},
                 summary=f"Gambar kartu peserta {participant.reg_number} untuk WhatsApp")
    db.session.commit()
    return image_response(content, mime, f"kartu-{participant.reg_number}")


@bp.get("/peserta/<int:participant_id>/tanda-terima.pdf")
@roles_required(*REGISTER_ROLES)
def receipt(participant_id: int):
    participant = _active(participant_id)
    content = receipt_pdf(participant)
    audit.record("document.receipt", participant, kecamatan_id=participant.kecamatan_id, changes={},
                 summary=f"Cetak tanda terima pendaftaran {participant.reg_number}")
    db.session.commit()
    return pdf_response(content, f"tanda-terima-{participant.reg_number}.pdf")


@bp.get("/peserta/<int:participant_id>/tanda-terima.png")
@roles_required(*REGISTER_ROLES)
def receipt_image(participant_id: int):
    participant = _active(participant_id)
    content, mime = pdf_page_image(receipt_pdf(participant), width=1080)
    audit.record("document.receipt_image", participant, kecamatan_id=participant.kecamatan_id, changes={},
                 summary=f"Gambar tanda terima pendaftaran {participant.reg_number} untuk WhatsApp")
    db.session.commit()
    return image_response(content, mime, f"tanda-terima-{participant.reg_number}")


@bp.get("/cek/peserta/<token>")
@public_lookup_limit()
def check(token: str):
    """Public: is this person a registered participant? Partly masked name, number, kecamatan only."""
    participant_id = participant_id_of(token)
    participant = db.session.get(Participant, participant_id) if participant_id is not None else None
    info = None
    if participant is not None and participant.status == "active":
        info = {"name": mask_name(participant.name), "reg_number": participant.reg_number,
                "kecamatan": participant.kecamatan.name, "registered": participant.registered_at}
    return render_template("participants/check.html", info=info), 200 if info else 404
