"""Template helpers of the participants domain."""
from urllib.parse import quote


from ..core.access import may
from ..core.idnumbers import whatsapp_number
from ..core.scoping import current_scope
from . import bp
from .access import personal_data_for, sees_phone_of, shown_nik, shown_phone
from .services import mask_name


@bp.app_template_filter("mask_name")
def _mask_name(name: str) -> str:
    return mask_name(name or "")


@bp.app_template_filter("shown_nik")
def _shown_nik(nik: str | None) -> str:
    """NIK in full or masked by the current user's role: every screen, PDF and export uses this rule."""
    return shown_nik(nik)


@bp.app_template_filter("shown_phone")
def _shown_phone(phone: str | None) -> str:
    return shown_phone(phone)


@bp.app_template_global("sees_personal_data")
def _sees_personal_data() -> bool:
    """Whether the current user sees NIK and phone in full (a WhatsApp link holds the number)."""
    return personal_data_for().full


@bp.app_template_global("sees_phone_of")
def _sees_phone_of(participant) -> bool:
    return sees_phone_of(participant)


@bp.app_template_filter("wa_link")
def wa_link(participant, text: str | None = None) -> str:
    """wa.me link with a short Indonesian message from the kecamatan office (default: a greeting)."""
    text = text or (f"Halo {participant.name}, kami dari Kantor Kecamatan {participant.kecamatan.name} "
                    "terkait pendaftaran JakPreneur/OK OCE Anda. Mohon konfirmasi data Anda.")
    return f"https://wa.me/{whatsapp_number(participant.phone)}?text={quote(text)}"


@bp.app_template_global("may_open")
def may_open(participant) -> bool:
    """Whether the current user may open this participant's page: offer the link only then."""
    return may("participants.detail") and participant.within(current_scope())
