"""Addresses for the public: the one place that builds a URL printed on a document or sent to a
participant (QR codes, WhatsApp messages, sign-up links).

They are built on the configured ``PUBLIC_BASE_URL`` (e.g. ``https://okoce.tebet.go.id``), never on
the host of the request: an officer may reach the app at ``http://127.0.0.1:8000`` or an internal
address, and a printed QR code with that address cannot be checked from a phone on the internet.
Works without a request too (a background worker renders documents).
"""
from urllib.parse import urlsplit

from flask import current_app


class PublicBaseUrlError(RuntimeError):
    pass


def check_public_base_url(value: str | None) -> str:
    """The configured address without a trailing slash; an error naming what is wrong otherwise."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise PublicBaseUrlError(
            f"PUBLIC_BASE_URL must be the address the public reaches the app at, e.g. "
            f"https://okoce.example.go.id (got {value!r}).")
    return value.rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` at ``PUBLIC_BASE_URL`` (a path under it is kept)."""
    parts = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
