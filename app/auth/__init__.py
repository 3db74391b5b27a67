"""Users, roles, scope, login; the admin's user screens."""
from flask import Blueprint

bp = Blueprint("auth", __name__, cli_group="users")

from . import cli, views  # noqa: E402,F401
