"""SKU request letters as a document (one letter, or a batch printed by the worker when long)."""
from datetime import date

from flask import request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.formatting import tanggal
from ..core.pdf import PAPERS, qr_image
from ..core.public import public_url
from ..core.scoping import scoped
from ..extensions import db
from ..jobs.documents import Document, document, pdf_batch
from ..participants.models import Participant, ParticipantStep
from ..settings.services import letterhead_for
from .models import SkuLetter

LETTERS = "licensing.sku_letters"
LETTERS_FILE = "surat-pengantar-sku.pdf"


def paper_arg() -> str:
    paper = request.args.get("kertas", "A4").upper()
    return paper if paper in PAPERS else "A4"


def letter_facts(letters: list[SkuLetter]) -> dict[int, dict[int, date]]:
    """letter id → {step: date} of the participant's steps reached on or before the letter's date:
    the only facts the letter may state (one query for all letters, through the scope)."""
    ids = {letter.participant_id for letter in letters}
    reached: dict[int, dict[int, date]] = {pid: {} for pid in ids}
    stmt = scoped(select(ParticipantStep.participant_id, ParticipantStep.step, ParticipantStep.completed_on),
                  ParticipantStep).where(ParticipantStep.participant_id.in_(ids))
    for pid, step, on in db.session.execute(stmt):
        reached[pid][step] = on
    return {letter.id: {step: on for step, on in reached[letter.participant_id].items() if on <= letter.letter_date}
            for letter in letters}


def letter_statement(facts: dict[int, date], kecamatan_name: str) -> str:
    """The letter's sentence about the participant, following their actual steps (P1, P2, P3)."""
    done = []
    if 2 in facts:
        done.append(f"telah mengikuti pelatihan kewirausahaan (selesai {tanggal(facts[2])})")
    if 3 in facts:
        done.append(f"telah mendapat pendampingan usaha (sejak {tanggal(facts[3])})")
    registered = f" sejak {tanggal(facts[1])}" if 1 in facts else ""
    sentence = f"Peserta tersebut terdaftar sebagai peserta program di Kecamatan {kecamatan_name}{registered}"
    if done:
        return sentence + ", " + " dan ".join(done) + "."
    return sentence + "."


def letters_document(letters: list[SkuLetter], filename: str, paper: str = "A4") -> Document:
    """Letters on their kecamatan's letterhead, a page each, numbered "Halaman x dari y" across the batch."""
    # What the letters print, loaded in a few queries for the whole batch, not a few per letter.
    db.session.scalars(select(SkuLetter).options(
        selectinload(SkuLetter.participant).selectinload(Participant.sector),
        selectinload(SkuLetter.participant).selectinload(Participant.kelurahan),
        selectinload(SkuLetter.kelurahan), selectinload(SkuLetter.kecamatan)).where(
        SkuLetter.id.in_([letter.id for letter in letters]))).all()
    facts = letter_facts(letters)

    def items(part):
        return [{"l": letter, "qr": qr_image(public_url("licensing.verify_letter", code=letter.code)),
                 "statement": letter_statement(facts[letter.id], letter.kecamatan.name)} for letter in part]

    kecamatan = {letter.kecamatan_id: letter.kecamatan for letter in letters}
    summary = f"Cetak {len(letters)} surat pengantar SKU"
    return pdf_batch(summary, "pdf/sku_letters.html", letters, filename,
                     {"action": "document.sku_letters", "entity_type": "sku_letter",
                      "entity_id": letters[0].id if len(letters) == 1 else None,
                      "kecamatan_id": letters[0].kecamatan_id if letters else None, "summary": summary},
                     url_for("licensing.ready"), prepare=items, numbered=True, unit="surat",
                     empty="Tidak ada surat yang dicetak: surat-surat ini tidak ada lagi.",
                     kecamatan=next(iter(kecamatan.values())) if len(kecamatan) == 1 else None, paper=paper,
                     letterheads={kid: letterhead_for(kec) for kid, kec in kecamatan.items()})


@document(LETTERS)
def sku_letters_document(params: dict) -> Document | None:
    """The letters of a batch (made by one POST), those still within the owner's scope."""
    ids = [i for i in params.get("letter_ids", []) if isinstance(i, int)]
    letters = list(db.session.scalars(scoped(select(SkuLetter), SkuLetter).where(SkuLetter.id.in_(ids))
                                      .order_by(SkuLetter.id)))
    return letters_document(letters, LETTERS_FILE, params.get("kertas") if params.get("kertas") in PAPERS else "A4")
