"""Home page and health check."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from .extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("main/home.html", user=current_user)


@bp.get("/sehat")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
