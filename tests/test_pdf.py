"""The documents core: real PDFs rendered and opened."""
import io

import pytest
from pypdf import PdfReader

from app.core.pdf import RemoteResourceRefused, url_fetcher

MM = 72 / 25.4


def _size_mm(page):
    return round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM)


def _fonts(reader):
    """(embedded, not embedded) font names of every page."""
    fonts, missing = set(), set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            name = str(target["/BaseFont"])
            if descriptor and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                fonts.add(name)
            else:
                missing.add(name)
    return fonts, missing


@pytest.mark.parametrize("paper,size", [("A4", (210, 297)), ("F4", (215, 330))])
def test_test_page_pdf(client, login_as, paper, size):
    login_as("staff")
    response = client.get(f"/dokumen/uji?kertas={paper}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert all(_size_mm(p) == size for p in reader.pages)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Halaman Uji Dokumen" in text and "KANTOR KECAMATAN TEBET" in text
    assert "9.468" in text and "Rp 1.500.000" in text and "3171••••••••9901" in text
    assert "Baris uji ke-60" in text and "Halaman 1 dari" in text
    assert len(reader.pages) >= 2
    embedded, missing = _fonts(reader)
    assert not missing and any(name.endswith("+Dokumen") for name in embedded)  # the bundled font


def test_unknown_paper_is_404(client, login_as):
    login_as("staff")
    assert client.get("/dokumen/uji?kertas=LETTER").status_code == 404


def test_fetcher_refuses_remote_and_file_urls(app):
    with app.app_context():
        fetcher = url_fetcher()
        for url in ("https://example.com/x.png", "http://127.0.0.1/x.css", "file:///etc/passwd",
                    "static:../config.py", "static:/../../etc/passwd"):
            with pytest.raises((RemoteResourceRefused, ValueError)):
                fetcher.fetch(url)
        font = fetcher.fetch("static:fonts/DejaVuSans.ttf")
        assert font.read(4) == b"\x00\x01\x00\x00"


def test_remote_image_in_a_template_is_not_fetched(app):
    from weasyprint import HTML

    with app.app_context():
        fetched = []
        fetcher = url_fetcher()
        original = fetcher.fetch

        def spy(url, headers=None):
            fetched.append(url)
            return original(url, headers)

        fetcher.fetch = spy
        pdf = HTML(string='<img src="https://example.com/track.png"><p>Halo</p>', base_url="static:/",
                   url_fetcher=fetcher).write_pdf()
    assert pdf.startswith(b"%PDF") and fetched == ["https://example.com/track.png"]


def test_qr_code_is_a_png_that_decodes_to_its_data():
    import base64
    import re

    import zxingcpp
    from PIL import Image

    from app.core.pdf import qr_image

    tag = str(qr_image("3174012026000001"))
    uri = re.fullmatch(r'<img class="qr-code" src="data:image/png;base64,([^"]+)" alt="">', tag).group(1)
    image = Image.open(io.BytesIO(base64.b64decode(uri)))
    assert image.format == "PNG"
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L").resize((image.width * 4, image.height * 4)))] \
        == ["3174012026000001"]
