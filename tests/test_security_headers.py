"""The security headers on every page, walked from ``app.url_map`` so new pages are covered.

Every GET route without URL arguments is opened anonymously, as an admin and as kecamatan
staff (redirects, refusals and downloads included): each answer carries a Content-Security-Policy
that allows nothing but the app itself (no inline script, no remote origin, no framing),
``nosniff`` and ``same-origin`` referrers; each HTML page has no inline script or handler that
the policy would block.
"""
import re

import pytest

from tests.conftest import login

EXPECTED = {"default-src": "'self'", "script-src": "'self'", "frame-ancestors": "'none'", "object-src": "'none'",
            "base-uri": "'self'", "form-action": "'self'"}
SOURCES_ALLOWED = {"'self'", "'none'", "data:"}


def get_routes(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"})


def check(url: str, response) -> None:
    headers = response.headers
    csp = dict((d.split()[0], " ".join(d.split()[1:])) for d in headers["Content-Security-Policy"].split(";")
               if d.strip())
    for directive, value in EXPECTED.items():
        assert csp.get(directive) == value, f"{url}: {directive} is {csp.get(directive)!r}"
    for directive, value in csp.items():
        assert set(value.split()) <= SOURCES_ALLOWED, f"{url}: {directive} allows {value}"
    assert headers["X-Content-Type-Options"] == "nosniff", url
    assert headers["Referrer-Policy"] == "same-origin", url
    assert headers["X-Frame-Options"] == "DENY", url
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'\ssrc="/static/', tag), f"{url}: inline or remote script {tag}"
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html), f"{url}: inline event handler"
        assert "javascript:" not in html.lower(), f"{url}: javascript: URL"
    assert headers.get("Cache-Control") == "no-store", f"{url}: answers with personal data must not be cached"


def walk(app, client) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for url in get_routes(app):
        with client.get(url) as response:
            assert response.status_code < 500, f"{url} -> {response.status_code}"
            check(url, response)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return statuses


def test_every_page_anonymous(app, client):
    statuses = walk(app, client)
    assert statuses.get(200, 0) >= 3 and statuses.get(302, 0) >= 10  # public pages, and login redirects


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_every_page_logged_in(app, client, make_user, make_participant, role):
    make_participant()
    user = make_user(role)
    assert login(client, user.username).status_code == 302
    statuses = walk(app, client)
    assert statuses.get(200, 0) >= 10, statuses


def test_error_pages_carry_the_headers(app, client):
    check("/tidak-ada", client.get("/tidak-ada"))
    with client.post("/masuk", data={}) as response:  # no CSRF token: 400 page
        assert response.status_code == 400
        check("/masuk (400)", response)


def test_exports_pdfs_and_fragments_are_not_cached_but_static_files_may_be(app, client, make_user,
                                                                            make_participant):
    participant_id = make_participant()
    login(client, make_user("staff").username)
    for url, headers in [("/peserta/ekspor.csv", {}), ("/peserta/ekspor.xlsx", {}),
                         (f"/peserta/{participant_id}/kartu.pdf", {}), ("/peserta?q=a", {"HX-Request": "true"})]:
        with client.get(url, headers=headers) as response:
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store", url
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200 and response.headers.get("Cache-Control") != "no-store"
