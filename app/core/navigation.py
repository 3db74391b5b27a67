"""The navigation menu by role: (label, endpoint) pairs the base layout shows."""
from .access import ADMIN, FACILITATOR, MANAGER, PENDAMPING, STAFF

MENU = [
    ("Beranda", "main.home", None),
    ("Dasbor", "reports.dashboard_page", {ADMIN, MANAGER, STAFF}),
    ("Rekap mingguan", "reports.weekly", {ADMIN, MANAGER, STAFF}),
    ("Daftar peserta baru", "participants.register_walkin", {STAFF, FACILITATOR}),
    ("Peserta", "participants.index", {ADMIN, MANAGER, STAFF}),
    ("Antrean daring", "participants.queue", {ADMIN, STAFF}),
    ("Impor", "participants.import_upload", {ADMIN, STAFF}),
    ("Hari ini", "training.today_page", {FACILITATOR}),
    ("Pelatihan", "training.index", {ADMIN, MANAGER, STAFF, FACILITATOR}),
    ("Sertifikat", "training.certificate_register", {ADMIN, MANAGER, STAFF}),
    ("Peserta dampingan", "mentoring.mine", {PENDAMPING}),
    ("Pendampingan", "mentoring.assign", {ADMIN, STAFF}),
    ("Siap izin", "licensing.ready", {ADMIN, MANAGER, STAFF}),
    ("Surat SKU", "licensing.letters", {ADMIN, MANAGER, STAFF}),
    ("Acara", "events.index", {ADMIN, MANAGER, STAFF}),
    ("Pengguna", "auth.users", {ADMIN}),
    ("Pengaturan", "settings.program", {ADMIN}),
    ("Kop surat", "settings.letterheads", {ADMIN, STAFF}),
    ("Sektor", "participants.sectors", {ADMIN}),
    ("Log audit", "audit.index", {ADMIN}),
]


def menu_for(user) -> list[tuple[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [(label, endpoint) for label, endpoint, roles in MENU if roles is None or user.role in roles]
