"""The navigation menu by role: (label, endpoint) pairs the base layout shows."""
from .access import ADMIN

MENU = [
    ("Beranda", "main.home", None),
    ("Pengguna", "auth.users", {ADMIN}),
    ("Pengaturan", "settings.program", {ADMIN}),
    ("Kop surat", "settings.letterheads", {ADMIN}),
]


def menu_for(user) -> list[tuple[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [(label, endpoint) for label, endpoint, roles in MENU if roles is None or user.role in roles]
