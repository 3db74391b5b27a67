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


def test_a_batch_rendered_in_parts_is_one_pdf_with_every_page_in_order(app):
    """Long batches are rendered a part at a time (memory) and joined: nothing lost, nothing reordered."""
    from datetime import date
    from types import SimpleNamespace

    from app.core.pdf import qr_image, render_pdf_batch

    kec = SimpleNamespace(name="Tebet", id=1)
    course = SimpleNamespace(title="Dasar Usaha Kuliner", meetings=[SimpleNamespace(date=date(2026, 12, 1))],
                             kecamatan=kec, facilitator=None)
    letterhead = SimpleNamespace(office_name="Kantor Kecamatan Tebet", address="", phone="", email="",
                                 camat_name="Camat Uji", camat_nip="", logo=None, logo_mime=None)
    items = [{"c": SimpleNamespace(number=f"{i:05d}/SERT-PKT/317401/2026", code=f"KODE{i:02d}",
                                   participant=SimpleNamespace(name=f"Peserta {i:02d}")), "qr": qr_image(f"KODE{i:02d}")}
             for i in range(1, 6)]
    with app.test_request_context("/"):
        whole = render_pdf_batch("pdf/certificates.html", items, chunk=2, landscape=True, course=course,
                                 letterhead=letterhead)
    reader = PdfReader(io.BytesIO(whole))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 5
    assert [t.count("Peserta ") for t in texts] == [1] * 5
    assert all(f"Peserta {i:02d}" in t and f"kode KODE{i:02d}" in t for i, t in zip(range(1, 6), texts))
    assert all(_size_mm(p) == (297, 210) for p in reader.pages)
    fonts, missing = _fonts(reader)
    assert fonts and not missing


def test_the_letterhead_logo_is_on_every_page_and_embedded_once(app):
    from datetime import date
    from types import SimpleNamespace

    from PIL import Image

    from app.core.pdf import qr_image, render_pdf

    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), (200, 30, 30)).save(buffer, "PNG")
    kec = SimpleNamespace(name="Tebet", id=1)
    course = SimpleNamespace(title="Kuliner", meetings=[SimpleNamespace(date=date(2026, 12, 1))], kecamatan=kec,
                             facilitator=None)
    letterhead = SimpleNamespace(office_name="Kantor Kecamatan Tebet", address="", phone="", email="",
                                 camat_name="", camat_nip="", logo=buffer.getvalue(), logo_mime="image/png")
    items = [{"c": SimpleNamespace(number=str(i), code=f"K{i}", participant=SimpleNamespace(name=f"P {i}")),
              "qr": qr_image(f"K{i}")} for i in range(3)]
    with app.test_request_context("/"):
        reader = PdfReader(io.BytesIO(render_pdf("pdf/certificates.html", landscape=True, course=course, items=items,
                                                 letterhead=letterhead)))
    logos = []
    for page in reader.pages:
        found = [ref.idnum for ref in page["/Resources"]["/XObject"].values()
                 if ref.get_object()["/Width"] == 120]
        assert len(found) == 1
        logos += found
    assert len(set(logos)) == 1  # one image object, drawn on every page
