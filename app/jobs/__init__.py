"""Background jobs: the task queue (huey), the job record, its progress page and its download."""
from flask import Blueprint

bp = Blueprint("jobs", __name__)

from . import views  # noqa: E402,F401
