"""Documents sent by WhatsApp: the participant's public check link and the short messages.

The check link names a participant by a token signed with the app's secret (not the guessable
registration number), so the public check page cannot be walked to list participants."""
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..core.public import public_url
from . import bp

_SALT = "participant-check"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def check_token(participant) -> str:
    return _serializer().dumps(participant.id)


def participant_id_of(token: str) -> int | None:
    try:
        value = _serializer().loads(token[:100])
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def check_url(participant) -> str:
    """The public page that confirms this participant is registered (printed, sent by WhatsApp)."""
    return public_url("participants.check", token=check_token(participant))


def _first_name(participant) -> str:
    return (participant.name or "").split(" ")[0]


@bp.app_template_global("card_message")
def card_message(participant) -> str:
    return (f"Halo {_first_name(participant)}, ini kartu peserta JakPreneur/OK OCE Anda dari Kantor Kecamatan "
            f"{participant.kecamatan.name}, nomor peserta {participant.reg_number}. Simpan gambarnya dan tunjukkan "
            f"saat kegiatan. Cek keaslian: {check_url(participant)}")


@bp.app_template_global("receipt_message")
def receipt_message(participant) -> str:
    return (f"Halo {_first_name(participant)}, pendaftaran Anda di program JakPreneur/OK OCE Kecamatan "
            f"{participant.kecamatan.name} sudah kami terima dengan nomor peserta {participant.reg_number}. "
            f"Cek pendaftaran: {check_url(participant)}")
