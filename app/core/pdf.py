"""PDF documents: a Jinja template and its context in, PDF bytes out (WeasyPrint).

Only local resources reach the renderer: ``static:`` paths resolve inside ``app/static``,
``data:`` URIs pass, everything else (http, https, file, ...) is refused. Paper is A4 or F4
(215 x 330 mm, common in Indonesian offices).
"""
import hashlib
import io
import mimetypes
from pathlib import Path

import segno
from flask import current_app, g, render_template
from markupsafe import Markup

PAPERS = {"A4": "210mm 297mm", "F4": "215mm 330mm"}


class RemoteResourceRefused(ValueError):
    pass


def _static_root() -> Path:
    return Path(current_app.static_folder).resolve()


def _local_fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalURLFetcher(URLFetcher):
        """Serve ``static:`` and ``data:`` URLs; refuse every other scheme."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("memory:"):
                found = g.get("pdf_images", {}).get(url[len("memory:"):])
                if found is None:
                    raise RemoteResourceRefused(f"Unknown image: {url}")
                return URLFetcherResponse(url, found[0], {"Content-Type": found[1]})
            if url.startswith("static:"):
                root = _static_root()
                path = (root / url[len("static:"):].lstrip("/")).resolve()
                if root not in path.parents or not path.is_file():
                    raise RemoteResourceRefused(f"Not a static file: {url}")
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            raise RemoteResourceRefused(f"Remote or file URL refused: {url}")

    return LocalURLFetcher(allowed_protocols={"data", "static", "memory"}, allow_redirects=False)


def url_fetcher():
    """The fetcher every PDF is rendered with (also used by tests)."""
    return _local_fetcher()


def paper_size(paper: str) -> str:
    return PAPERS.get((paper or "A4").upper(), PAPERS["A4"])


def page_context(paper: str = "A4", landscape: bool = False) -> dict:
    """What ``pdf/base.html`` needs to know of the paper: its CSS size and name."""
    size = paper_size(paper)
    if landscape:
        width, height = size.split()
        size = f"{height} {width}"
    return {"page_size": size, "paper": paper}


def render_pdf(template: str, paper: str = "A4", landscape: bool = False, **context) -> bytes:
    """Render ``template`` (extending ``pdf/base.html``) to PDF bytes on the given paper."""
    from weasyprint import HTML

    from .timeutil import utcnow

    context.setdefault("now", utcnow())
    html = render_template(template, **page_context(paper, landscape), **context)
    return HTML(string=html, base_url="static:/", url_fetcher=url_fetcher()).write_pdf()


def render_pdf_batch(template: str, items: list, items_name: str = "items", chunk: int = 50, paper: str = "A4",
                     landscape: bool = False, prepare=None, progress=None, numbered_pages: int | None = None,
                     **context) -> bytes:
    """One PDF of a batch (certificates, letters, card sheets): ``template`` gets ``items_name`` =
    a slice of ``items`` (through ``prepare``, which turns a slice into what the template prints) and
    ``total`` = ``len(items)``; ``progress(done)`` is told after each part.

    A batch longer than ``chunk`` is rendered ``chunk`` items at a time and the parts joined
    (pypdfium2): WeasyPrint keeps every laid-out page of a document in memory until it is written,
    so a worker rendering 500 certificates at once grew past 400 MB; in parts it stays near 170 MB.
    A template that prints "Halaman x dari y" (``pdf/base.html``) numbers across the parts when
    ``numbered_pages`` (the pages the batch is expected to have) is given: each part's first page
    follows the previous part's last (``page_offset``) and ``y`` is ``pages_total``; should the batch
    come out with another number of pages (a letter ran over a page), it is rendered once more with
    the true count."""
    context["total"] = len(items)
    prepare = prepare or (lambda part: part)
    if len(items) <= chunk:
        content = render_pdf(template, paper=paper, landscape=landscape, **{items_name: prepare(items)}, **context)
        if progress is not None:
            progress(len(items))
        return content
    import pypdfium2

    def parts(pages_total):
        merged = pypdfium2.PdfDocument.new()
        try:
            for start in range(0, len(items), chunk):
                numbering = {} if pages_total is None else {"page_offset": len(merged), "pages_total": pages_total}
                part = pypdfium2.PdfDocument(render_pdf(template, paper=paper, landscape=landscape,
                                                        **{items_name: prepare(items[start:start + chunk])},
                                                        **numbering, **context))
                try:
                    merged.import_pages(part)
                finally:
                    part.close()
                if progress is not None:
                    progress(min(start + chunk, len(items)))
            out = io.BytesIO()
            merged.save(out)
            return out.getvalue(), len(merged)
        finally:
            merged.close()

    content, pages = parts(numbered_pages)
    if numbered_pages is not None and pages != numbered_pages:
        content, _ = parts(pages)
    return content


QR_MASK = 2


def qr_image(data: str) -> Markup:
    """A QR code as an ``<img>`` of a small PNG (4 px a module, drawn without smoothing), for PDFs.

    A PNG costs the renderer a decode; the same code as SVG costs a path parse in Python on every
    page (a third of a certificate batch's time). The mask pattern is fixed: choosing the best of
    eight by their penalty scores took 8 ms a code (most of a batch's time outside WeasyPrint), and
    any of the eight is a valid code that every reader decodes."""
    code = segno.make(data, error="m", micro=False, mask=QR_MASK)
    return Markup(f'<img class="qr-code" src="{code.png_data_uri(scale=4, border=2)}" alt="">')


def embedded_image_uri(content: bytes, mime: str) -> str:
    """A short ``memory:`` URL for an image the renderer takes from memory: a letterhead logo of up
    to 512 KB appears on every page of a batch, and as a data: URI it was base64-encoded into the
    HTML once per page (100 certificates: 70 MB of HTML); by URL it is fetched and decoded once."""
    digest = hashlib.sha256(content).hexdigest()[:32]
    g.setdefault("pdf_images", {})[digest] = (content, mime)
    return f"memory:{digest}"


def pdf_response(content: bytes, filename: str, inline: bool = True):
    from flask import make_response

    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


WHATSAPP_WIDTH = 1080  # px: a phone screen's width, what WhatsApp keeps of an image sent as a photo
WHATSAPP_MAX_BYTES = 300 * 1024


def pdf_page_image(pdf: bytes, width: int = WHATSAPP_WIDTH, max_bytes: int = WHATSAPP_MAX_BYTES) -> tuple[bytes, str]:
    """The first page of ``pdf`` as an image ``width`` px wide, for sending by WhatsApp: (bytes, MIME).

    Rasterised by PDFium (pypdfium2), the same engine as Chrome's PDF viewer. A PNG of at most 64
    colours keeps text and QR codes sharp and is small for documents of black text and a logo; a
    photo-like logo that makes it too large falls back to JPEG of decreasing quality, and a page that
    even then is too large (noise, a scanned photo) to a smaller JPEG: never over ``max_bytes``."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=width / page.get_width(), draw_annots=False).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    out = io.BytesIO()
    image.quantize(colors=64).save(out, "PNG", optimize=True)
    if out.tell() <= max_bytes:
        return out.getvalue(), "image/png"
    while True:
        for quality in (85, 70, 55, 40, 30):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue(), "image/jpeg"
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5))


def image_response(content: bytes, mime: str, stem: str):
    """An image to save and send (``stem`` + the extension of its type)."""
    from flask import make_response

    response = make_response(content)
    response.headers["Content-Type"] = mime
    extension = "png" if mime == "image/png" else "jpg"
    response.headers["Content-Disposition"] = f'inline; filename="{stem}.{extension}"'
    response.headers["Cache-Control"] = "no-store"
    return response
