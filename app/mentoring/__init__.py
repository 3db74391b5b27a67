"""P3 — mentoring: pendamping assignments and visits."""
from flask import Blueprint

bp = Blueprint("mentoring", __name__)

from . import views  # noqa: E402,F401
from .sections import register  # noqa: E402

register()
