"""Role checks for views. Region scope is :mod:`app.core.scoping`; this is "which roles"."""
from functools import wraps

from flask import abort
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
