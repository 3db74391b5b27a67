"""Error pages in Indonesian; no stack trace outside debug, every 500 logged."""
from flask import render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from ..extensions import db

MESSAGES = {
    400: ("Permintaan tidak valid", "Permintaan yang dikirim tidak dapat diproses."),
    403: ("Akses ditolak", "Anda tidak memiliki hak untuk membuka halaman ini."),
    404: ("Halaman tidak ditemukan", "Halaman atau data yang Anda cari tidak ada, atau bukan wilayah Anda."),
    405: ("Metode tidak diizinkan", "Cara membuka halaman ini tidak diizinkan."),
    409: ("Sudah dikirim", "Permintaan yang sama sudah diproses sebelumnya."),
    413: ("Berkas terlalu besar", "Berkas yang diunggah melebihi batas ukuran."),
    429: ("Terlalu banyak percobaan", "Terlalu banyak permintaan dalam waktu singkat. Tunggu sebentar lalu coba lagi."),
    500: ("Terjadi kesalahan", "Terjadi kesalahan pada server. Kejadian ini sudah dicatat; silakan coba lagi."),
}


class DomainError(ValueError):
    """A rule of the program broken, the one error type every domain raises (subclassed per domain).

    ``message`` is Indonesian and shown as is; ``field`` names the form field it belongs to (None:
    the form as a whole); ``errors`` lists (field, message) when several fields are wrong at once;
    ``code`` names the refusals a view answers differently (e.g. 403). A view shows it with
    :func:`app.core.forms.show_error`, next to its field or as a flash message.
    """

    def __init__(self, message: str, field: str | None = None, code: str | None = None,
                 errors: list[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.errors = errors or [(field, message)]

    @classmethod
    def of(cls, errors: list[tuple[str | None, str]]) -> "DomainError":
        """Several fields wrong at once: the first message is the error's own."""
        return cls(errors[0][1], errors[0][0], errors=errors)


def error_page(code: int, detail: str | None = None):
    """The Indonesian error page for ``code``, with ``detail`` instead of the usual message."""
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message), code


def register_errors(app) -> None:
    for code in MESSAGES:
        if code == 500:
            continue
        app.register_error_handler(code, lambda e, code=code: error_page(code))

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return error_page(400, "Sesi formulir sudah kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim lagi.")

    @app.errorhandler(IntegrityError)
    def conflict(e):
        """A unique key refused a second copy that a concurrent request was creating at the same
        instant: the rule held in the database; the user gets a plain answer, not an error 500."""
        db.session.rollback()
        app.logger.warning("Refused by a constraint (concurrent request): %s", getattr(e, "orig", e))
        return error_page(409, "Data yang sama baru saja disimpan oleh permintaan lain pada saat yang sama, jadi "
                               "permintaan ini tidak diproses lagi. Buka kembali halaman datanya untuk melihat hasilnya.")

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        app.logger.exception("Unhandled error: %s", getattr(e, "original_exception", e))
        return error_page(500)
