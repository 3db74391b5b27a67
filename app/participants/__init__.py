"""P1 — registration: walk-in desk, online queue, import, search, participant page, card."""
from flask import Blueprint

bp = Blueprint("participants", __name__)

from . import filters, sharing, views, views_export, views_import, views_online, views_sectors, views_share  # noqa: E402,F401
