"""Who may do what is said once, by the view (``roles_required``); the menu and every button or
link in templates ask ``may(endpoint)``, so they show exactly what the view lets in."""
import re
from pathlib import Path

import pytest

from app.core.access import ROLES
from app.core.navigation import MENU
from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
MENU_LINK = re.compile(r'<nav[^>]*>.*?</nav>', re.S)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_shows_exactly_the_pages_the_role_may_open(app, make_user, role):
    client = app.test_client()
    user = make_user(role, username=f"menu.{role}")
    assert login(client, user.username).status_code == 302
    nav = MENU_LINK.search(client.get("/").get_data(as_text=True)).group(0)
    with app.test_request_context():
        from flask import url_for
        urls = {label: url_for(endpoint) for label, endpoint in MENU}
    for label, url in urls.items():
        status = client.get(url).status_code
        shown = f'href="{url}"' in nav
        assert status in (200, 403), (url, status)
        assert shown == (status == 200), f"{role}: menu {'shows' if shown else 'hides'} {label} ({url}) answering {status}"


def test_an_admin_reaches_the_walk_in_form_from_the_menu(app, client, login_as):
    login_as("admin")
    nav = MENU_LINK.search(client.get("/").get_data(as_text=True)).group(0)
    assert 'href="/peserta/daftar"' in nav and client.get("/peserta/daftar").status_code == 200


def test_no_template_decides_by_role_itself():
    """Buttons and links ask may(endpoint); a role written in a template is a second copy of the rule."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\buser\.role\b(?!_label)|\bis_admin\b|\bcan_(create|edit|manage|enrol|certify|print)\b", line):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{number}")
    assert offenders == []
