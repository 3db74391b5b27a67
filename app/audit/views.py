"""Admin: read and filter the audit log (the log itself is written by app.core.audit)."""
from datetime import date, datetime, time, timedelta

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..core.access import ADMIN, roles_required
from ..core.audit import AuditLog
from ..core.audit_words import worded
from ..core.htmx import render
from ..core.pagination import paginate
from ..core.scoping import scoped
from ..core.timeutil import WIB, parse_date
from ..extensions import db
from . import bp


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
        stmt = stmt.join(User, AuditLog.user_id == User.id).where(User.username.startswith(args["pengguna"].lower()))
    if day := parse_date(args["dari"]):
        stmt = stmt.where(AuditLog.at >= _utc(day))
    if day := parse_date(args["sampai"]):
        stmt = stmt.where(AuditLog.at < _utc(day + timedelta(days=1)))
    page = paginate(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()), request.args.get("hal", 1))
    actions = sorted({a for (a,) in db.session.execute(select(AuditLog.action).distinct())})
    return render("core/audit.html", "core/_audit_table.html", page=page, args=args, actions=actions,
                  worded=worded)
