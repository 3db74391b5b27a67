"""Searchable kelurahan picker (used by forms across the app)."""
from flask import request
from flask_login import login_required

from ..core.htmx import render
from . import bp
from .services import search_kelurahan


@bp.get("/wilayah/kelurahan")
@login_required
def kelurahan_search():
    """Options for the kelurahan field: every user may look up the public list of 267."""
    term = request.args.get("q", "")[:60]
    items = search_kelurahan(term, scope=None)
    return render("regions/kelurahan_options.html", "regions/kelurahan_options.html", items=items, term=term)
