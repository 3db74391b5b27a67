"""Which roles may do what. Region scope is :mod:`app.core.scoping`; this is "which roles".

The one place that says it is the view: ``@roles_required(...)`` on the view that does the
thing. The menu, the buttons and the links in templates ask :func:`may` with the view's
endpoint, so a link is shown exactly to those the view will let in, and changing who may do
something is one edit in one place.
"""
from functools import wraps

from flask import abort, current_app
from flask_login import current_user, login_required

ADMIN, MANAGER, STAFF, FACILITATOR, PENDAMPING = "admin", "manager", "staff", "facilitator", "pendamping"
ROLES = [ADMIN, MANAGER, STAFF, FACILITATOR, PENDAMPING]
ROLE_LABELS = {
    ADMIN: "Admin (Dinas)",
    MANAGER: "Manajer (Sudin/Dinas)",
    STAFF: "Petugas meja kecamatan",
    FACILITATOR: "Fasilitator pelatihan",
    PENDAMPING: "Pendamping",
}


def roles_required(*roles: str):
    """Login required, then 403 unless the user's role is one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)
        return wrapped

    return decorator


def allowed_roles(endpoint: str) -> tuple[str, ...] | None:
    """The roles the view of ``endpoint`` lets in; None when any logged-in user may open it."""
    view = current_app.view_functions[endpoint]
    return getattr(view, "allowed_roles", None)


def may(endpoint: str, user=None) -> bool:
    """May ``user`` (default: the current user) open the view of ``endpoint``?"""
    user = current_user if user is None else user
    if not getattr(user, "is_authenticated", False):
        return False
    roles = allowed_roles(endpoint)
    return roles is None or user.role in roles
