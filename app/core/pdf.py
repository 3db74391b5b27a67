"""PDF documents: a Jinja template and its context in, PDF bytes out (WeasyPrint).

Only local resources reach the renderer: ``static:`` paths resolve inside ``app/static``,
``data:`` URIs pass, everything else (http, https, file, ...) is refused. Paper is A4 or F4
(215 x 330 mm, common in Indonesian offices).
"""
import base64
import mimetypes
from pathlib import Path

import segno
from flask import current_app, render_template
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
            if url.startswith("static:"):
                root = _static_root()
                path = (root / url[len("static:"):].lstrip("/")).resolve()
                if root not in path.parents or not path.is_file():
                    raise RemoteResourceRefused(f"Not a static file: {url}")
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            raise RemoteResourceRefused(f"Remote or file URL refused: {url}")

    return LocalURLFetcher(allowed_protocols={"data", "static"}, allow_redirects=False)


def url_fetcher():
    """The fetcher every PDF is rendered with (also used by tests)."""
    return _local_fetcher()


def paper_size(paper: str) -> str:
    return PAPERS.get((paper or "A4").upper(), PAPERS["A4"])


def render_pdf(template: str, paper: str = "A4", landscape: bool = False, **context) -> bytes:
    """Render ``template`` (extending ``pdf/base.html``) to PDF bytes on the given paper."""
    from weasyprint import HTML

    size = paper_size(paper)
    if landscape:
        width, height = size.split()
        size = f"{height} {width}"
    from .timeutil import utcnow

    context.setdefault("now", utcnow())
    html = render_template(template, page_size=size, paper=paper, **context)
    return HTML(string=html, base_url="static:/", url_fetcher=url_fetcher()).write_pdf()


def qr_svg(data: str, scale: int = 3) -> Markup:
    """A QR code as inline SVG, for pages and PDFs."""
    code = segno.make(data, error="m", micro=False)
    return Markup(code.svg_inline(scale=scale, border=2, omitsize=False))


def image_data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def pdf_response(content: bytes, filename: str, inline: bool = True):
    from flask import make_response

    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
