"""Which roles do what with participants, and what they see of personal data."""
from dataclasses import dataclass

from flask_login import current_user

from ..core.access import ADMIN, FACILITATOR, MANAGER, PENDAMPING, STAFF
from ..core.formatting import mask_nik, mask_phone

VIEW_ROLES = (ADMIN, MANAGER, STAFF)
REGISTER_ROLES = (ADMIN, STAFF, FACILITATOR)
EDIT_ROLES = (ADMIN, STAFF)
UNMASKED_ROLES = (ADMIN, STAFF)  # the desk needs the full NIK and phone; others see them masked


def sees_personal_data(user) -> bool:
    return getattr(user, "role", None) in UNMASKED_ROLES


@dataclass(frozen=True)
class PersonalData:
    """NIK and phone as one viewer sees them on every screen, PDF and export: in full for
    UNMASKED_ROLES, masked for everyone else."""

    full: bool

    def nik(self, nik: str | None) -> str:
        return (nik or "") if self.full else mask_nik(nik)

    def phone(self, phone: str | None) -> str:
        return (phone or "") if self.full else mask_phone(phone)


def sees_phone_of(participant, user=None) -> bool:
    """The full phone number: the desk's roles, and the pendamping of this participant (who calls them)."""
    user = current_user if user is None else user
    return sees_personal_data(user) or (getattr(user, "role", None) == PENDAMPING
                                         and participant.pendamping_id == user.id)


def personal_data_for(user=None) -> PersonalData:
    """The rule for ``user`` (default: the current user; nobody logged in sees masked data). Decided once,
    so a streamed export need not touch the user again."""
    return PersonalData(full=sees_personal_data(current_user if user is None else user))


def shown_nik(nik: str | None, user=None) -> str:
    return personal_data_for(user).nik(nik)


def shown_phone(phone: str | None, user=None) -> str:
    return personal_data_for(user).phone(phone)
