"""QR codes on printed documents carry PUBLIC_BASE_URL, never the address the officer used.

The documents are fetched from another host (an internal address), a page is rasterised with
pypdfium2 and its QR code decoded with zxing-cpp; the decoded address must be the configured public
one, and that page must answer a visitor who is not logged in.
"""
import re
from urllib.parse import urlsplit

import pypdfium2
import pytest
import zxingcpp

from app.core.public import PublicBaseUrlError, check_public_base_url, public_url
from tests.conftest import login, post_form
from tests.test_masking_documents import SUBJECT, world

INTERNAL_HOST = "10.20.30.40:8080"


def qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """The texts of the QR codes on one page, rasterised at 200 dpi."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=200 / 72).to_pil().convert("L")
    finally:
        doc.close()
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def internal_client(app, username: str):
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = INTERNAL_HOST
    assert login(client, username).status_code == 302
    return client


@pytest.mark.parametrize("doc,url,method,check", [
    ("certificate", "/pelatihan/peserta/{enrollment}/sertifikat.pdf", "GET", r"/verifikasi/([A-Z0-9]+)"),
    ("certificates", "/pelatihan/{course}/sertifikat.pdf", "GET", r"/verifikasi/([A-Z0-9]+)"),
    ("SKU letter", "/surat-sku/{letter}.pdf", "GET", r"/surat/([A-Z0-9]+)"),
    ("SKU letters batch", "/siap-izin/surat.pdf", "POST", r"/surat/([A-Z0-9]+)"),
])
def test_document_qr_decodes_to_the_public_address_from_any_request_host(app, make_user, make_participant,
                                                                          make_course, doc, url, method, check):
    ids = world(app, make_user, make_participant, make_course)
    client = internal_client(app, "staf.tebet")
    if method == "POST":
        response = post_form(client, url.format(**ids), {"participant_id": str(ids["participant"])})
    else:
        response = client.get(url.format(**ids))
    assert response.status_code == 200 and response.mimetype == "application/pdf", doc
    (decoded,) = qr_codes(response.data)
    base = app.config["PUBLIC_BASE_URL"]
    assert base == "https://okoce.publik.example"
    assert decoded.startswith(base + "/") and INTERNAL_HOST not in decoded and "localhost" not in decoded
    assert re.fullmatch(re.escape(base) + check, decoded), decoded
    # The printed address answers a visitor with no session (the public page, partly masked name).
    anonymous = app.test_client()
    page = anonymous.get(urlsplit(decoded).path, base_url=base)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "R••• S••••" in html and SUBJECT not in html


def test_test_page_qr_is_the_public_home(app, make_user):
    make_user("staff", username="desk.tebet")
    client = internal_client(app, "desk.tebet")
    response = client.get("/dokumen/uji")
    assert qr_codes(response.data) == ["https://okoce.publik.example/"]


def test_public_url_keeps_a_path_and_ignores_the_request(app):
    with app.test_request_context("/", base_url=f"http://{INTERNAL_HOST}"):
        app.config["PUBLIC_BASE_URL"] = "https://pemda.example/okoce"
        try:
            assert public_url("training.verify", code="ABC") == "https://pemda.example/okoce/verifikasi/ABC"
        finally:
            app.config["PUBLIC_BASE_URL"] = "https://okoce.publik.example"
    with app.app_context():  # no request at all (a background worker)
        assert public_url("licensing.verify_letter", code="XYZ") == "https://okoce.publik.example/surat/XYZ"


@pytest.mark.parametrize("value", ["", "okoce.example", "ftp://okoce.example", "https://okoce.example/?a=1"])
def test_a_public_base_url_that_is_not_an_address_is_refused(value):
    with pytest.raises(PublicBaseUrlError):
        check_public_base_url(value)
    assert check_public_base_url("https://okoce.example/") == "https://okoce.example"
