"""Home page and health check."""
from flask import Blueprint, current_app, render_template, send_from_directory
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .core.access import FACILITATOR
from .extensions import db
from .training.services import agenda

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():
    """Every role's start page; a facilitator's starts with today's and the next sessions, each one tap
    from its roster."""
    plan = agenda() if current_user.role == FACILITATOR else None
    return render_template("main/home.html", user=current_user, agenda=plan)


@bp.get("/healthz")
@bp.get("/sehat")
def health():
    """For the load balancer: 200 ``{"status": "ok"}`` when the database answers, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("Health check: the database does not answer.", exc_info=True)
        return {"status": "error"}, 503, {"Cache-Control": "no-store"}
    return {"status": "ok"}, 200, {"Cache-Control": "no-store"}


@bp.get("/sw.js")
def service_worker():
    """The service worker keeping roster pages for a lost connection; served from the root so its
    scope covers them (static/js/sw.js), never cached by the browser's HTTP cache."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
