"""P4 — licensing: SKU/IUMK/NIB licences, SKU request letters, the ready-for-licensing list."""
from flask import Blueprint

bp = Blueprint("licensing", __name__)

from . import views  # noqa: E402,F401
from .sections import register  # noqa: E402

register()
