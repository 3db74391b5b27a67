"""Security headers, the safe ``next`` redirect, the reverse proxy's forwarded headers, no NUL in input."""
from urllib.parse import urlsplit

from flask import abort, current_app, request

from ..extensions import limiter

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)


# Pages with the QR scanner: the barcode-detector polyfill compiles ZXing's WebAssembly, which
# needs 'wasm-unsafe-eval' (WebAssembly only; JavaScript eval stays refused). Only those pages.
CSP_WASM = CSP.replace("script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';", 1)


def compiles_wasm(view):
    """Mark a page view whose scripts compile WebAssembly (the QR scanner): its CSP allows that."""
    view.compiles_wasm = True
    return view


def is_safe_next(target: str | None) -> bool:
    """A ``next`` target is safe only as a local absolute path (no scheme, host or '//')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and all(ord(c) >= 32 for c in target)


def public_lookup_limit():
    """One limit per address shared by the public lookups (certificate and letter checks), so
    that codes cannot be guessed by trying many quickly."""
    return limiter.shared_limit(lambda: current_app.config["PUBLIC_LOOKUP_LIMIT"], scope="public-lookup")


def register_security(app) -> None:
    if proxies := app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.before_request
    def _refuse_nul():
        """No address, form field or file name of this app holds a NUL character, and PostgreSQL
        text cannot store one: refuse it as a bad request instead of failing in the database."""
        values = [request.path]
        for key, value in [*request.args.items(multi=True), *request.form.items(multi=True)]:
            values += [key, value]
        values += [f.filename or "" for _, f in request.files.items(multi=True)]
        if any("\x00" in value for value in values):
            abort(400)

    @app.after_request
    def _headers(response):
        view = current_app.view_functions.get(request.endpoint or "")
        response.headers.setdefault("Content-Security-Policy",
                                    CSP_WASM if getattr(view, "compiles_wasm", False) else CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:  # over HTTPS (behind the proxy: see TRUSTED_PROXIES), stay on HTTPS
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            # Pages, fragments, exports and PDFs carry personal data: no copy in any cache.
            response.headers["Cache-Control"] = "no-store"
        return response
