"""P2 — training: courses and meetings, enrolment, rosters, check-in, sign-in sheets, certificates."""
from flask import Blueprint

bp = Blueprint("training", __name__)

from . import views, views_documents, views_roster  # noqa: E402,F401
from .sections import register  # noqa: E402

register()
