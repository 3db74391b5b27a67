"""An event's booth list and sign-up list as documents (printed by the worker when long)."""
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.scoping import current_scope, scoped
from ..extensions import db
from ..jobs.documents import Document, document, pages_for, pdf_batch
from ..participants.models import Participant
from ..settings.services import letterhead_for
from .models import Event, Signup
from .services import waiting_line

LIST_ROWS_PER_PAGE = 25  # rows of a list on an A4 page under the letterhead (an estimate that decides the worker)


def organised_event(params: dict) -> Event | None:
    """The event of ``params``, if the user's scope organises it (only the organiser prints its lists)."""
    event = db.session.scalars(scoped(select(Event).where(Event.id == params.get("event_id")), Event)).first()
    return event if event is not None and event.organised_by(current_scope()) else None


def _list(event: Event, what: str, action: str, template: str, rows: list, filename: str, empty: str,
          **render) -> Document:
    summary = f"Cetak {what} {event.name}"
    return pdf_batch(summary, template, rows, filename,
                     {"action": action, "entity_type": "event", "entity_id": event.id,
                      "kecamatan_id": event.kecamatan_id, "summary": summary},
                     url_for("events.detail", event_id=event.id), pages=pages_for(len(rows), LIST_ROWS_PER_PAGE),
                     chunk=max(len(rows), 1), unit="baris", empty=empty, kecamatan=event.kecamatan, event=event,
                     letterhead=letterhead_for(event.kecamatan), **render)


@document("events.booth_list")
def booth_list_document(params: dict) -> Document | None:
    """The confirmed sign-ups by booth: one table (a list is rendered whole, whatever its length)."""
    event = organised_event(params)
    if event is None:
        return None
    confirmed = list(db.session.scalars(scoped(select(Signup), Signup).options(joinedload(Signup.participant))
                                        .where(Signup.event_id == event.id, Signup.status == "confirmed")
                                        .order_by(Signup.booth)))
    return _list(event, "daftar stan", "document.booth_list", "pdf/booth_list.html", confirmed,
                 f"daftar-stan-{event.id}.pdf",
                 "Tidak ada yang dicetak: belum ada peserta terkonfirmasi yang mendapat stan di acara ini.",
                 items_name="rows")


@document("events.signup_list")
def signup_list_document(params: dict) -> Document | None:
    """Every sign-up: confirmed by booth, then the waiting list in its order, then cancelled."""
    event = organised_event(params)
    if event is None:
        return None
    rows = list(db.session.scalars(scoped(select(Signup), Signup).options(
        joinedload(Signup.participant).joinedload(Participant.kelurahan)).where(Signup.event_id == event.id)))
    confirmed = sorted((s for s in rows if s.status == "confirmed"), key=lambda s: s.booth)
    cancelled = sorted((s for s in rows if s.status == "cancelled"), key=lambda s: s.created_at)
    return _list(event, "daftar pendaftar", "document.signup_list", "pdf/signup_list.html", rows,
                 f"pendaftar-{event.id}.pdf", "Tidak ada yang dicetak: belum ada pendaftar di acara ini.",
                 items_name="signups", confirmed=confirmed, waiting=waiting_line(event.id) if rows else [],
                 cancelled=cancelled)
