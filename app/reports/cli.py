"""``flask tallies check`` and ``flask tallies rebuild``."""
import click
from flask.cli import AppGroup

from ..extensions import db
from . import bp
from .tallies import drift, rebuild

tallies_cli = AppGroup("tallies", help="The dashboard's summary tables.")
bp.cli.add_command(tallies_cli)


@tallies_cli.command("check")
def check() -> None:
    """Compare the summary tables with the records; exit 1 on any difference."""
    problems = drift()
    for line in problems:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo("Tallies agree with the records.")


@tallies_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute the summary tables from the records."""
    rebuild()
    db.session.commit()
    click.echo("Tallies rebuilt.")
