import click

from ..core.access import ROLES
from ..core.errors import DomainError
from ..extensions import db
from ..regions.models import Kecamatan, Kota
from . import bp
from .services import Wilayah, create_user, ensure_first_admin


def _wilayah(kota: str | None, kecamatan: str | None) -> Wilayah:
    if kecamatan:
        kec = db.session.query(Kecamatan).filter(
            (Kecamatan.code == kecamatan) | (db.func.lower(Kecamatan.name) == kecamatan.lower())).first()
        if kec is None:
            raise click.BadParameter(f"unknown kecamatan {kecamatan!r}", param_hint="--kecamatan")
        return Wilayah("kecamatan", kecamatan_id=kec.id)
    if kota:
        k = db.session.query(Kota).filter(Kota.code == kota).first()
        if k is None:
            raise click.BadParameter(f"unknown kota code {kota!r}", param_hint="--kota")
        return Wilayah("kota", kota_id=k.id)
    return Wilayah("province")


@bp.cli.command("create")
@click.option("--username", required=True)
@click.option("--name", "full_name", required=True, help="Full name shown on screens.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--kota", help="Kota code (e.g. 31.74) for a kota-wide manager.")
@click.option("--kecamatan", help="Kecamatan code (31.74.01) or name for kecamatan users.")
@click.option("--password", envvar="NEW_USER_PASSWORD", help="Generated and printed when omitted.")
def create_command(username, full_name, role, kota, kecamatan, password):
    """Create a user with a role and a scope."""
    try:
        user, password_used = create_user(username, full_name, role, _wilayah(kota, kecamatan),
                                          password=password, must_change=password is None)
    except DomainError as err:
        raise click.ClickException(f"{err.field}: {err.message}") from err
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}, {user.scope_label}).")
    if not password:
        click.echo(f"Password (shown once): {password_used}")


@bp.cli.command("ensure-admin")
@click.option("--password", envvar="ADMIN_PASSWORD", help="Defaults to $ADMIN_PASSWORD, else generated.")
def ensure_admin_command(password):
    """Create the first admin when there is no user at all."""
    created = ensure_first_admin(password or None)
    if created is None:
        return
    db.session.commit()
    user, password_used = created
    click.echo(f"First admin created: user name '{user.username}'.")
    if not password:
        click.echo(f"Password (shown once, change it after logging in): {password_used}")
