"""Kota, kecamatan and kelurahan of DKI Jakarta with their Kemendagri codes."""
from flask import Blueprint

bp = Blueprint("regions", __name__)

from . import cli  # noqa: E402,F401
