"""Program settings (mode, targets) and each kecamatan's letterhead."""
from flask import Blueprint

bp = Blueprint("settings", __name__)

from . import views  # noqa: E402,F401
