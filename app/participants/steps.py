"""The seven steps of the program ("7 PAS") as data."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: int
    code: str
    name: str
    needs: str


STEPS = [
    Step(1, "P1", "Pendaftaran", "Pendaftaran diverifikasi oleh kecamatan."),
    Step(2, "P2", "Pelatihan", "Menyelesaikan pelatihan sesuai aturan kelulusan kursus."),
    Step(3, "P3", "Pendampingan", "Ditugaskan ke pendamping dan menerima kunjungan pertama."),
    Step(4, "P4", "Perizinan", "Memiliki izin usaha: SKU dari kelurahan, IUMK, atau NIB."),
    Step(5, "P5", "Pemasaran", "Hadir di bazar, pameran, atau penempatan OK OCE Mart."),
    Step(6, "P6", "Pelaporan keuangan", "Menyerahkan laporan keuangan sederhana."),
    Step(7, "P7", "Permodalan", "Pengajuan permodalan disetujui."),
]
STEP_BY_NUMBER = {s.number: s for s in STEPS}

# What completed a step, by the source recorded with it (shown on the participant's timeline).
SOURCE_LABELS = {
    "registration": "pendaftaran diverifikasi",
    "import": "impor data pendaftaran",
    "course": "lulus pelatihan",
    "visit": "kunjungan pendamping pertama",
    "license": "izin usaha pertama",
    "event": "hadir di acara pemasaran",
    "financial_report": "laporan keuangan pertama",
    "capital": "permodalan disetujui",
    "demo": "data contoh (demo)",
}
