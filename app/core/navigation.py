"""The navigation menu: (label, endpoint) pairs; each user sees those whose view lets them in."""
from .access import may

MENU = [
    ("Beranda", "main.home"),
    ("Dasbor", "reports.dashboard_page"),
    ("Rekap mingguan", "reports.weekly"),
    ("Persetujuan rekap", "reports.board"),
    ("Daftar peserta baru", "participants.register_walkin"),
    ("Peserta", "participants.index"),
    ("Antrean daring", "participants.queue"),
    ("Impor", "participants.import_upload"),
    ("Hari ini", "training.today_page"),
    ("Pelatihan", "training.index"),
    ("Sertifikat", "training.certificate_register"),
    ("Peserta dampingan", "mentoring.mine"),
    ("Pendampingan", "mentoring.assign"),
    ("Siap izin", "licensing.ready"),
    ("Surat SKU", "licensing.letters"),
    ("Acara", "events.index"),
    ("Pengguna", "auth.users"),
    ("Pengaturan", "settings.program"),
    ("Kop surat", "settings.letterheads"),
    ("Sektor", "participants.sectors"),
    ("Log audit", "audit.index"),
]


def menu_for(user) -> list[tuple[str, str]]:
    return [(label, endpoint) for label, endpoint in MENU if may(endpoint, user)]


class Menu:
    """The user's menu, worked out only when a page draws it (a fragment never does)."""

    def __init__(self, user):
        self._user, self._items = user, None

    def _entries(self) -> list[tuple[str, str]]:
        if self._items is None:
            self._items = menu_for(self._user)
        return self._items

    def __iter__(self):
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())
