"""P5 — marketing events: bazaars, expos, OK OCE Mart; sign-ups with booths and a fair waiting list."""
from flask import Blueprint

bp = Blueprint("events", __name__)

from . import views  # noqa: E402,F401
from .sections import register  # noqa: E402

register()
