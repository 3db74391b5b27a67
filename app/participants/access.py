"""Which roles do what with participants, and what they see of personal data."""
from ..core.access import ADMIN, FACILITATOR, MANAGER, STAFF

VIEW_ROLES = (ADMIN, MANAGER, STAFF)
REGISTER_ROLES = (ADMIN, STAFF, FACILITATOR)
EDIT_ROLES = (ADMIN, STAFF)
UNMASKED_ROLES = (ADMIN, STAFF)  # the desk needs the full NIK and phone; others see them masked


def sees_personal_data(user) -> bool:
    return getattr(user, "role", None) in UNMASKED_ROLES
