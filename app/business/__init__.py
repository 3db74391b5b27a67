"""P6 — financial reports, P7 — access to capital."""
from flask import Blueprint

bp = Blueprint("business", __name__)

from . import views  # noqa: E402,F401
from .sections import register  # noqa: E402

register()
