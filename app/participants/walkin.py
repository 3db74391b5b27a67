"""The walk-in form's adapters, shared by every view that registers someone (the desk, the
online form, the import, the training hall's walk-in): form → Registration, a RegistrationError
back onto the form, the sector choices, and which kecamatan the user registers for."""
from ..core.converters import parse_id
from ..core.scoping import current_scope
from ..regions.models import Kecamatan
from ..regions.services import acting_kecamatan
from .models import Participant
from .services import Registration, RegistrationError, sector_choices


def registration_from(form) -> Registration:
    sector = form.sector_id.data
    return Registration(
        nik=form.nik.data or "", name=form.name.data or "", birth_date=form.birth_date.data,
        gender=form.gender.data or None, phone=form.phone.data or "", email=form.email.data or "",
        address=form.address.data or "", kelurahan=form.kelurahan.data or "",
        business_name=form.business_name.data or "", sector_id=parse_id(sector),
        stage=form.stage.data or "")


def apply_errors(form, err: RegistrationError) -> None:
    for name, message in err.fields.items():
        field = getattr(form, name, None)
        if field is None:
            field = form.nik
        field.errors = list(field.errors) + [message]


def confirmed_flags(form) -> set[str]:
    flags = set()
    if form.confirm_identity.data:
        flags.add("identity")
    if form.confirm_duplicate.data:
        flags.add("duplicate")
    return flags


def prepare_form(form, participant: Participant | None = None) -> None:
    form.sector_id.choices = {"": "— pilih —", **sector_choices(participant.sector_id if participant else None)}


def registering_kecamatan(form) -> Kecamatan | None:
    """The kecamatan registering (regions.services.acting_kecamatan); a form error when none was chosen."""
    kecamatan = acting_kecamatan(form.kecamatan_id.data)
    if kecamatan is None:
        form.kecamatan_id.errors = list(form.kecamatan_id.errors) + ["Pilih kecamatan pendaftar."]
    return kecamatan


def needs_kecamatan_choice() -> bool:
    return current_scope().kecamatan_id is None
