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
