import click

from ..extensions import db
from . import bp
from .services import load_regions

bp.cli.short_help = "Region master data."


@bp.cli.command("load")
def load_command():
    """Load kota, kecamatan and kelurahan from the bundled CSV (idempotent)."""
    result = load_regions()
    db.session.commit()
    click.echo(f"Regions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
