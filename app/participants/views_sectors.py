"""Admin: the sector list (add, rename, hide); participants keep their sector."""
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from ..core import audit
from ..core.access import ADMIN, roles_required
from ..core.converters import parse_id
from ..extensions import db
from . import bp
from .models import Sector


@bp.route("/pengaturan/sektor", methods=["GET", "POST"])
@roles_required(ADMIN)
def sectors():
    error, typed = None, ""
    if request.method == "POST":

        action = request.form.get("action")
        if action == "add":
            typed = (request.form.get("name") or "").strip()
            error = _add(typed)
        elif action in ("hide", "show", "rename"):
            sector = db.get_or_404(Sector, parse_id(request.form.get("sector_id")) or 0)
            error = _change(sector, action, (request.form.get("name") or "").strip())
        if error is None:
            db.session.commit()
            flash("Daftar sektor disimpan.", "success")
            return redirect(url_for("participants.sectors"))
        db.session.rollback()
    items = db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)).all()
    return render_template("participants/sectors.html", items=items, error=error, typed=typed), 422 if error else 200


def _valid_name(name: str, exclude_id: int | None = None) -> str | None:
    if not name:
        return "Nama sektor wajib diisi."
    if len(name) > 60:
        return "Nama sektor paling banyak 60 karakter."
    stmt = select(func.count()).select_from(Sector).where(func.lower(Sector.name) == name.lower())
    if exclude_id:
        stmt = stmt.where(Sector.id != exclude_id)
    if db.session.scalar(stmt):
        return "Sektor dengan nama ini sudah ada."
    return None


def _add(name: str) -> str | None:
    error = _valid_name(name)
    if error:
        return error
    position = (db.session.scalar(select(func.max(Sector.position))) or 0) + 1
    code = "".join(ch for ch in name.lower() if ch.isalnum())[:24] + f"-{position}"
    sector = Sector(code=code, name=name, position=position)
    db.session.add(sector)
    audit.record("sector.create", sector, changes={"name": {"before": None, "after": name}},
                 summary=f"Sektor {name} ditambahkan")
    return None


def _change(sector: Sector, action: str, name: str) -> str | None:
    before = audit.snapshot(sector)
    if action == "rename":
        error = _valid_name(name, exclude_id=sector.id)
        if error:
            return error
        sector.name = name
    else:
        sector.active = action == "show"
    audit.record("sector.update", sector, changes=audit.diff(before, sector), summary=f"Sektor {sector.name} diubah")
    return None
