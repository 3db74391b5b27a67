"""Which roles handle the course documents (read by views and templates)."""
from ..core.access import ADMIN, FACILITATOR, STAFF

DOC_ROLES = (ADMIN, STAFF, FACILITATOR)  # print sign-in sheets; issue and print certificates
