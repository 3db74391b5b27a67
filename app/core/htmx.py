"""The one place that knows htmx's request headers.

A view calls :func:`render` with its page template and the partial the page includes; an
htmx request (not boosted, not a history restore) gets the partial alone, any other request
the whole page. ``Vary: HX-Request`` keeps caches from mixing the two.
"""
from flask import make_response, render_template, request

HTMX_VERSION = "2.0.11"


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page_template: str, fragment_template: str | None = None, /, status: int = 200, **context):
    template = fragment_template if fragment_template and wants_fragment() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
