from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ..core import audit
from ..core.errors import DomainError
from ..core.access import ADMIN, roles_required
from ..core.forms import show_error
from ..core.htmx import render
from ..core.once import forget_answer
from ..core.pagination import paginate
from ..core.scoping import get_or_404, scoped
from ..core.security import is_safe_next
from ..core.timeutil import to_wib
from ..extensions import db, limiter
from . import bp, throttle
from .forms import ConfirmForm, LoginForm, NewUserForm, PasswordChangeForm, UserFilterForm, UserForm
from .models import User
from .sessions import end_session, renew_session, start_session
from .services import (Wilayah, authenticate, change_password, create_user, note_login,
                       reset_password, set_active, update_user, wilayah_choices, wilayah_of)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        error = _attempt_login(form)
        if error is None:
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("main.home"))
        form.password.errors.append(error)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


def _locked_message(until) -> str:
    return ("Terlalu banyak percobaan masuk yang gagal untuk akun ini. Akun dikunci sementara; "
            f"coba lagi setelah pukul {to_wib(until):%H.%M} WIB.")


def _attempt_login(form: LoginForm) -> str | None:
    """Log in, or the message for the password field. Failures count per account (see throttle)."""
    username = form.username.data
    if until := throttle.locked_until(username):
        return _locked_message(until)
    user = authenticate(username, form.password.data)
    if user is None:
        if until := throttle.note_failure(username):
            known = db.session.scalars(select(User).where(User.username == username.strip().lower())).first()
            audit.record("user.login_locked", known, entity_type="app_user", changes={},
                         summary=f"Akun {username.strip().lower()[:40]} dikunci sementara: terlalu banyak "
                                 "kata sandi salah")
            db.session.commit()
            return _locked_message(until)
        return "Nama pengguna atau kata sandi salah."
    if not user.active:
        return "Akun ini dinonaktifkan. Hubungi admin kecamatan atau Dinas."
    throttle.clear(username)
    start_session(user)
    note_login(user)
    db.session.commit()
    return None


@bp.post("/keluar")
@login_required
def logout():
    end_session()
    flash("Anda sudah keluar.", "info")
    response = redirect(url_for("auth.login"))
    # Nothing personal stays in the browser: kept roster pages and unsent marks are cleared.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.post("/akun/keluar-semua")
@login_required
def logout_everywhere():
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Formulir tidak sah, coba lagi.", "error")
        return redirect(url_for("auth.change_own_password"))
    current_user.end_sessions()
    audit.record("user.logout_everywhere", current_user, changes={}, summary="Keluar dari semua perangkat")
    db.session.commit()
    end_session()
    flash("Anda sudah keluar dari semua perangkat.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def change_own_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except DomainError as err:
            show_error(err, form)
        else:
            db.session.commit()
            renew_session(current_user)  # other sessions ended with the old token; this one gets a new id
            flash("Kata sandi sudah diganti.", "success")
            return redirect(url_for("main.home"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status


# --- Admin: users -----------------------------------------------------------

def _users_query(form: UserFilterForm):
    stmt = scoped(select(User), User)
    if form.q.data:
        like = f"%{form.q.data.lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.full_name).like(like)))
    if form.role.data:
        stmt = stmt.where(User.role == form.role.data)
    if form.status.data == "aktif":
        stmt = stmt.where(User.active.is_(True))
    elif form.status.data == "nonaktif":
        stmt = stmt.where(User.active.is_(False))
    return stmt.order_by(User.username)


@bp.get("/admin/pengguna")
@roles_required(ADMIN)
def users():
    form = UserFilterForm(request.args)
    form.validate()
    page = paginate(_users_query(form), request.args.get("hal", 1))
    return render("auth/users.html", "auth/_users_table.html", form=form, page=page)


def _bind_wilayah(form) -> None:
    form.wilayah.choices = wilayah_choices()


@bp.route("/admin/pengguna/baru", methods=["GET", "POST"])
@roles_required(ADMIN)
def user_new():
    form = NewUserForm()
    _bind_wilayah(form)
    if form.validate_on_submit():
        try:
            user, password = create_user(form.username.data, form.full_name.data, form.role.data,
                                         Wilayah.parse(form.wilayah.data), password=form.password.data or None)
        except DomainError as err:
            db.session.rollback()
            show_error(err, form)
        else:
            db.session.commit()
            forget_answer()
            return render_template("auth/password_shown.html", user=user, password=password, created=True)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/user_form.html", form=form, user=None), status


@bp.route("/admin/pengguna/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def user_edit(user_id: int):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user, wilayah=wilayah_of(user).value())
    _bind_wilayah(form)
    del form.username  # the login name is fixed once created
    if form.validate_on_submit():
        try:
            changes = update_user(user, form.full_name.data, form.role.data, Wilayah.parse(form.wilayah.data),
                                  acting=current_user)
        except DomainError as err:
            db.session.rollback()
            user = get_or_404(User, user_id)
            show_error(err, form)
        else:
            db.session.commit()
            flash("Perubahan disimpan." if changes else "Tidak ada perubahan.", "success")
            return redirect(url_for("auth.user_edit", user_id=user.id))
    status = 422 if form.is_submitted() else 200
    history = db.session.scalars(
        select(audit.AuditLog).where(audit.AuditLog.entity_type == "app_user", audit.AuditLog.entity_id == user.id)
        .order_by(audit.AuditLog.at.desc()).limit(20)).all()
    return render_template("auth/user_form.html", form=form, user=user, confirm=ConfirmForm(),
                           history=history), status


@bp.post("/admin/pengguna/<int:user_id>/status")
@roles_required(ADMIN)
def user_status(user_id: int):
    user = get_or_404(User, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Formulir tidak sah, coba lagi.", "error")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    activate = request.form.get("active") == "1"
    try:
        set_active(user, activate, acting=current_user)
    except DomainError as err:
        show_error(err)
    else:
        db.session.commit()
        flash(f"Akun {user.username} {'diaktifkan' if activate else 'dinonaktifkan'}.", "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.post("/admin/pengguna/<int:user_id>/reset-sandi")
@roles_required(ADMIN)
def user_reset(user_id: int):
    user = get_or_404(User, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Formulir tidak sah, coba lagi.", "error")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    password = reset_password(user)
    db.session.commit()
    forget_answer()
    return render_template("auth/password_shown.html", user=user, password=password, created=False)
