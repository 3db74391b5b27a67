"""Documents for WhatsApp: the participant card, the certificate and the registration receipt as an
image rasterised from the real PDF (pypdfium2), and a wa.me link to the participant's number with a
short Indonesian message carrying the public check link.

Images are opened with Pillow (type, size in bytes and pixels) and their QR codes decoded with
zxing-cpp: a code that decodes at that size is legible on a phone. Scope and masking follow the
app's rules: another kecamatan gets 404, a role that sees phone numbers masked gets no wa.me link.
"""
import io
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.participants.models import Participant
from app.training.models import Certificate
from tests.conftest import login
from tests.test_masking_documents import SUBJECT, world

BASE = "https://okoce.publik.example"
MAX_BYTES = 300 * 1024
WA_RE = re.compile(r'href="(https://wa\.me/[^"]+)"')


def certificate_id(app, ids) -> int:
    with app.app_context():
        return db.session.scalar(select(Certificate.id).where(Certificate.course_id == ids["course"]))


def images(app, ids) -> dict[str, str]:
    return {"card": f"/peserta/{ids['participant']}/kartu.png",
            "receipt": f"/peserta/{ids['participant']}/tanda-terima.png",
            "certificate": f"/sertifikat/{certificate_id(app, ids)}.png"}


def client_of(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def wa_links(html: str) -> list[tuple[str, str]]:
    """(number, message) of every wa.me link on a page."""
    out = []
    for href in WA_RE.findall(html):
        parts = urlsplit(href.replace("&amp;", "&"))
        out.append((parts.path.strip("/"), parse_qs(parts.query)["text"][0]))
    return out


def test_the_three_images_fit_whatsapp_and_their_qr_codes_read(app, make_user, make_participant, make_course):
    ids = world(app, make_user, make_participant, make_course)
    staff = client_of(app, "staf.tebet")
    with app.app_context():
        p = db.session.get(Participant, ids["participant"])
        reg_number = p.reg_number
        code = db.session.scalar(select(Certificate.code).where(Certificate.course_id == ids["course"]))
    found = {}
    for kind, url in images(app, ids).items():
        response = staff.get(url)
        assert response.status_code == 200 and response.mimetype in ("image/png", "image/jpeg"), kind
        assert len(response.data) <= MAX_BYTES, (kind, len(response.data))
        image = Image.open(io.BytesIO(response.data))
        assert image.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[response.mimetype]
        assert image.width == 1080 and 500 <= image.height <= 2000, (kind, image.size)
        found[kind] = decoded(image)
    assert found["card"] == [reg_number]  # the desk's check-in scans the card's number
    assert found["certificate"] == [f"{BASE}/verifikasi/{code}"]
    (check,) = found["receipt"]
    assert check.startswith(f"{BASE}/cek/peserta/")
    # The receipt's link answers the public with a masked name; a forged token is unknown.
    page = app.test_client().get(urlsplit(check).path, base_url=BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "R••• S••••" in html and SUBJECT not in html and reg_number in html
    assert app.test_client().get(urlsplit(check).path + "x").status_code == 404
    assert app.test_client().get(f"/cek/peserta/{ids['participant']}").status_code == 404


def test_the_receipt_pdf_masks_the_nik_for_everyone(app, make_user, make_participant, make_course):
    ids = world(app, make_user, make_participant, make_course)
    response = client_of(app, "staf.tebet").get(f"/peserta/{ids['participant']}/tanda-terima.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "TANDA TERIMA PENDAFTARAN" in text and SUBJECT in text
    assert ids["nik"] not in text and ids["nik"][:6] in text  # sent to the participant: masked


def test_another_kecamatan_gets_404(app, make_user, make_participant, make_course):
    ids = world(app, make_user, make_participant, make_course)
    make_user("staff", kecamatan="31.71.06", username="staf.lain")
    other = client_of(app, "staf.lain")
    for kind, url in {**images(app, ids), "receipt pdf": f"/peserta/{ids['participant']}/tanda-terima.pdf"}.items():
        assert other.get(url).status_code == 404, kind
    # A role the documents are not for is refused outright.
    manager = client_of(app, "manajer.dki")
    assert all(manager.get(url).status_code == 403 for url in images(app, ids).values())


def test_wa_links_carry_the_number_and_the_public_check_link(app, make_user, make_participant, make_course):
    ids = world(app, make_user, make_participant, make_course)
    staff = client_of(app, "staf.tebet")
    with app.app_context():
        code = db.session.scalar(select(Certificate.code).where(Certificate.course_id == ids["course"]))
    detail = staff.get(f"/peserta/{ids['participant']}").get_data(as_text=True)
    links = wa_links(detail)
    sent = [message for number, message in links if number == "6281377778888"]
    assert len(sent) == len(links) == 4  # the contact link, card, receipt and certificate
    assert any("kartu peserta" in m and f"{BASE}/cek/peserta/" in m for m in sent)
    assert any("pendaftaran Anda" in m and f"{BASE}/cek/peserta/" in m for m in sent)
    assert any("Sertifikat pelatihan" in m and f"{BASE}/verifikasi/{code}" in m for m in sent)
    for kind, url in images(app, ids).items():
        assert f'href="{url}"' in detail, kind
    register = staff.get("/sertifikat").get_data(as_text=True)
    assert [n for n, m in wa_links(register) if f"/verifikasi/{code}" in m] == ["6281377778888"]
    assert f'href="{images(app, ids)["certificate"]}"' in register


def test_registration_offers_the_receipt_and_card(app, client, login_as, make_participant):
    login_as("staff")
    pid = make_participant(name="Dewi Lestari", phone="0857-1111-2222")
    html = client.get(f"/peserta/{pid}/terdaftar").get_data(as_text=True)
    assert f'href="/peserta/{pid}/tanda-terima.png"' in html and f'href="/peserta/{pid}/kartu.png"' in html
    assert f'href="/peserta/{pid}/tanda-terima.pdf"' in html
    numbers = {number for number, _ in wa_links(html)}
    assert numbers == {"6285711112222"}
    assert all(unquote(m).startswith("Halo Dewi") for _, m in wa_links(html))


def test_no_phone_number_no_link_but_an_explanation(app, client, login_as, make_participant):
    login_as("staff")
    pid = make_participant(name="Tanpa Nomor", phone="", phone_required=False)
    for url in (f"/peserta/{pid}/terdaftar", f"/peserta/{pid}"):
        html = client.get(url).get_data(as_text=True)
        assert "wa.me" not in html and "Belum ada nomor HP" in html, url
        assert f'href="/peserta/{pid}/kartu.png"' in html  # the image is still offered
    assert client.get(f"/peserta/{pid}/kartu.png").status_code == 200


def test_a_role_that_sees_phones_masked_gets_no_wa_link(app, make_user, make_participant, make_course):
    ids = world(app, make_user, make_participant, make_course)
    for username in ("manajer.dki", "manajer.jaksel"):
        html = client_of(app, username).get(f"/peserta/{ids['participant']}").get_data(as_text=True)
        assert "wa.me" not in html and "6281377778888" not in html, username
        assert "kartu.png" not in html and "tanda-terima.png" not in html  # not their documents


def test_a_photo_like_page_falls_back_to_a_jpeg_under_the_limit(app):
    """A page a PNG cannot keep small (a photographic logo, here noise over the whole page: the worst
    case) is sent as a JPEG, within 300 KB (smaller than 1080 px only when no quality fits)."""
    import os

    from weasyprint import HTML

    from app.core.pdf import embedded_image_uri, pdf_page_image, url_fetcher

    noise = Image.frombytes("RGB", (600, 850), os.urandom(600 * 850 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    with app.test_request_context("/"):
        uri = embedded_image_uri(buffer.getvalue(), "image/png")
        pdf = HTML(string=f'<style>@page {{ size: A4; margin: 0 }} img {{ width: 210mm }}</style><img src="{uri}">',
                   base_url="static:/", url_fetcher=url_fetcher()).write_pdf()
    content, mime = pdf_page_image(pdf)
    image = Image.open(io.BytesIO(content))
    assert mime == "image/jpeg" and image.format == "JPEG"
    assert len(content) <= MAX_BYTES and 600 <= image.width <= 1080
