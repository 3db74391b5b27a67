"""Admin: read and filter the audit log."""
from datetime import date, datetime, time, timedelta

from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from .access import ADMIN, roles_required
from .audit import AuditLog
from .audit_words import worded
from .htmx import render
from .pagination import paginate
from .scoping import scoped
from .timeutil import WIB, parse_date

bp = Blueprint("audit", __name__)


def _utc(day: date) -> datetime:
    moment = datetime.combine(day, time.min, tzinfo=WIB)
    return (moment - moment.utcoffset()).replace(tzinfo=None)


@bp.get("/admin/audit")
@roles_required(ADMIN)
def index():
    args = {k: (request.args.get(k) or "").strip()[:60] for k in ("pengguna", "tindakan", "dari", "sampai")}
    stmt = scoped(select(AuditLog), AuditLog).options(joinedload(AuditLog.user))
    if args["tindakan"]:
        stmt = stmt.where(AuditLog.action.startswith(args["tindakan"]))
    if args["pengguna"]:
        from ..auth.models import User

        stmt = stmt.join(User, AuditLog.user_id == User.id).where(User.username.startswith(args["pengguna"].lower()))
    if day := parse_date(args["dari"]):
        stmt = stmt.where(AuditLog.at >= _utc(day))
    if day := parse_date(args["sampai"]):
        stmt = stmt.where(AuditLog.at < _utc(day + timedelta(days=1)))
    page = paginate(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()), request.args.get("hal", 1))
    actions = sorted({a for (a,) in db.session.execute(select(AuditLog.action).distinct())})
    return render("core/audit.html", "core/_audit_table.html", page=page, args=args, actions=actions,
                  worded=worded)
