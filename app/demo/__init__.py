"""``flask demo-data``: demo users of every role so each screen can be tried."""
from flask import Blueprint

bp = Blueprint("demo", __name__, cli_group=None)

from . import cli  # noqa: E402,F401
