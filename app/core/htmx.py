"""The one place that knows htmx's request headers.

A view calls :func:`render` with its page template and the partial the page includes; an
htmx request (not boosted, not a history restore) gets the partial alone, any other request
the whole page. ``Vary: HX-Request`` keeps caches from mixing the two.

A partial that lives inside a bigger page (search results on an event's page) needs that
page's own context for a full answer: the view passes ``page_context``, a function called only
when the whole page is rendered (a bookmarked or reloaded search, a browser without htmx), so
the fragment stays cheap and the page is never rendered half-filled.
"""
from collections.abc import Callable

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


def render(page_template: str, fragment_template: str | None = None, /, status: int = 200,
           page_context: Callable[[], dict] | None = None, **context):
    if fragment_template and wants_fragment():
        template = fragment_template
    else:
        template = page_template
        if page_context is not None:
            context = {**page_context(), **context}
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
