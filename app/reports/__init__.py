"""The dashboard, the weekly report (rekap mingguan) and their exports."""
from flask import Blueprint

bp = Blueprint("reports", __name__, cli_group=None)

from . import cli, models, views, views_submission  # noqa: E402,F401
