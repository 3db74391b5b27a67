import click
from sqlalchemy import select

from ..auth.models import User
from ..auth.services import Wilayah, create_user
from ..core.access import ADMIN, FACILITATOR, MANAGER, PENDAMPING, STAFF
from ..extensions import db
from ..regions.models import Kecamatan, Kota
from . import bp

DEMO_KECAMATAN = {"tebet": "31.74.01", "menteng": "31.71.06", "cakung": "31.75.06"}
DEMO_PASSWORD = "demo-okoce-2026"


def demo_accounts() -> list[tuple[str, str, str, Wilayah]]:
    kota_jaksel = db.session.scalars(select(Kota).where(Kota.code == "31.74")).one()
    accounts = [
        ("demo.admin", "Admin Dinas (demo)", ADMIN, Wilayah("province")),
        ("demo.dinas", "Manajer Dinas PPKUKM (demo)", MANAGER, Wilayah("province")),
        ("demo.sudin.jaksel", "Manajer Sudin Jakarta Selatan (demo)", MANAGER,
         Wilayah("kota", kota_id=kota_jaksel.id)),
    ]
    for slug, code in DEMO_KECAMATAN.items():
        kec = db.session.scalars(select(Kecamatan).where(Kecamatan.code == code)).one()
        where = Wilayah("kecamatan", kecamatan_id=kec.id)
        accounts += [
            (f"{slug}.petugas", f"Petugas Meja {kec.name} (demo)", STAFF, where),
            (f"{slug}.fasilitator", f"Fasilitator {kec.name} (demo)", FACILITATOR, where),
            (f"{slug}.pendamping", f"Pendamping {kec.name} (demo)", PENDAMPING, where),
        ]
    return accounts


@bp.cli.command("demo-data")
@click.option("--password", default=DEMO_PASSWORD, show_default=True, help="Password of every demo user.")
@click.option("--participants", "participant_count", type=click.IntRange(0, 5_000_000), default=0,
              help="Also create this many synthetic participants (spread over all kelurahan).")
def demo_data_command(password, participant_count):
    """Create demo users of every role in Tebet, Menteng and Cakung (idempotent), and participants."""
    existing = set(db.session.scalars(select(User.username)))
    rows = []
    for username, name, role, wilayah in demo_accounts():
        if username not in existing:
            create_user(username, name, role, wilayah, password=password, must_change=False)
            status = "created"
        else:
            status = "exists"
        rows.append((username, role, status))
    db.session.commit()
    click.echo("Demo users (password: %s):" % password)
    for username, role, status in rows:
        click.echo(f"  {username:24} {role:12} {status}")
    if participant_count:
        import time

        from .participants import create_participants

        started = time.monotonic()
        created = create_participants(participant_count)
        click.echo(f"Participants: {created} created in {time.monotonic() - started:.0f} s.")
    course = demo_course()
    if course is not None:
        click.echo(f"Training: '{course.title}' in Tebet with {len(course.enrollments)} participants, "
                   f"facilitator tebet.fasilitator.")
    event = demo_event()
    if event is not None:
        click.echo(f"Event: '{event.name}' in Tebet, {event.booths} booths.")


def demo_course():
    """A three-meeting course in Tebet starting today, with up to 30 of its participants (once)."""
    from datetime import time, timedelta

    from ..core.timeutil import today_wib
    from ..participants.models import Participant
    from ..training.models import Course
    from ..training.services import MeetingInput, create_course, enroll

    kec = db.session.scalars(select(Kecamatan).where(Kecamatan.code == DEMO_KECAMATAN["tebet"])).one()
    if db.session.scalars(select(Course).where(Course.kecamatan_id == kec.id)).first() is not None:
        return None
    facilitator = db.session.scalars(select(User).where(User.username == "tebet.fasilitator")).one()
    day = today_wib()
    meetings = [MeetingInput(date=day + timedelta(days=7 * i), start_time=time(9), end_time=time(12),
                             venue="Aula Kantor Kecamatan Tebet", capacity=100) for i in range(3)]
    course = create_course("Dasar Usaha dan Pemasaran (demo)", "Perencanaan usaha, kemasan, pemasaran daring",
                           kec, facilitator.id, None, meetings, None)
    participants = db.session.scalars(select(Participant).where(
        Participant.kecamatan_id == kec.id, Participant.status == "active").order_by(Participant.id).limit(30)).all()
    if participants:
        enroll(course, list(participants), None)
    db.session.commit()
    return course


def demo_event():
    """A bazaar in Tebet in two weeks with 20 booths, sign-ups open, and up to 25 participants signed up (once)."""
    from datetime import timedelta

    from ..core.timeutil import today_wib
    from ..events.models import Event
    from ..events.services import create_event, sign_up
    from ..participants.models import Participant

    kec = db.session.scalars(select(Kecamatan).where(Kecamatan.code == DEMO_KECAMATAN["tebet"])).one()
    if db.session.scalars(select(Event).where(Event.kecamatan_id == kec.id)).first() is not None:
        return None
    day = today_wib()
    event = create_event("bazar", "Bazar UMKM Tebet (demo)", kec, "Lapangan Tebet", day + timedelta(days=14),
                         day + timedelta(days=15), 20, day, day + timedelta(days=13), None, fair_order=True)
    from ..participants.services import missing_steps_for

    candidates = db.session.scalars(select(Participant).where(
        Participant.kecamatan_id == kec.id, Participant.status == "active").order_by(Participant.id.desc()).limit(500)).all()
    blocked = missing_steps_for([p.id for p in candidates], 5)  # mode berurutan: only those who may reach P5
    for p in [p for p in candidates if not blocked[p.id]][:25]:
        sign_up(event.id, p, None)
    db.session.commit()
    return event
