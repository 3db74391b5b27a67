"""P1 — registration: walk-in desk, online queue, import, search, participant page, card."""
from flask import Blueprint

bp = Blueprint("participants", __name__)

from . import filters, views, views_export, views_import, views_online, views_sectors  # noqa: E402,F401
