"""The admin's audit log screen. It sits above auth (it filters by user), so it is not in core."""
from flask import Blueprint

bp = Blueprint("audit", __name__)

from . import views  # noqa: E402,F401
