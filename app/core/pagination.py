"""Pagination with a COUNT and a LIMIT/OFFSET; never loads a whole table.

A list that may match a large part of a million rows (the participant list, its search by name)
passes ``cap``: it counts at most ``cap + 1`` matches, and beyond ``cap`` the page says "more than"
(``Page.capped``) and moves on while pages come back full."""
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil

from flask import current_app
from sqlalchemy import Select, func, select

from ..extensions import db


@dataclass
class Page:
    items: list
    number: int
    size: int
    total: int
    cap: int | None = None  # counted up to cap + 1 matches only
    more: bool = False  # (capped) another page follows this one

    @property
    def capped(self) -> bool:
        """More matches than the cap: ``total`` is only a lower bound."""
        return self.cap is not None and self.total > self.cap

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        if self.capped:
            return self.more
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.size + 1

    @property
    def last_index(self) -> int:
        if self.capped:
            return self.first_index + len(self.items) - 1
        return min(self.total, self.number * self.size)


def _page_number(number) -> int:
    try:
        return max(1, int(number))
    except (TypeError, ValueError):
        return 1


def paginate(stmt: Select, number, size: int | None = None, cap: int | None = None) -> Page:
    size = size or current_app.config["PAGE_SIZE"]
    number = _page_number(number)
    counted = stmt.order_by(None) if cap is None else stmt.order_by(None).limit(cap + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    if cap is None or total <= cap:
        number = min(number, max(1, ceil(total / size)))
        items = list(db.session.scalars(stmt.limit(size).offset((number - 1) * size)))
        return Page(items=items, number=number, size=size, total=total, cap=cap)
    number = min(number, 10 ** 6)  # (an absurd page number is no offset for the database)
    items = list(db.session.scalars(stmt.limit(size + 1).offset((number - 1) * size)))
    return Page(items=items[:size], number=number, size=size, total=total, cap=cap, more=len(items) > size)


def paginate_ids(ids: Select, load: Callable[[list], list], number, cap: int | None = None,
                 size: int | None = None) -> Page:
    """A list taken as ids first: ``ids`` selects the rows' ids in the list's order, and
    ``load(ids)`` gives the page's rows in the order of its ids.

    A capped list whose matches are costly to find (a search by name: the search index is read for
    every evaluation) takes up to ``cap + 1`` ids in one query, which gives both the count and the
    page for pages within the cap, instead of a count and a page that each find the matches again.
    Pages beyond the cap, and lists without a cap, count and take their ids by offset."""
    size = size or current_app.config["PAGE_SIZE"]
    number = _page_number(number)
    if cap is None:
        total = db.session.scalar(select(func.count()).select_from(ids.order_by(None).subquery()))
        number = min(number, max(1, ceil(total / size)))
        chosen = list(db.session.scalars(ids.limit(size).offset((number - 1) * size)))
        return Page(items=load(chosen), number=number, size=size, total=total)
    if number * size <= cap:
        found = list(db.session.scalars(ids.limit(cap + 1)))
        total = len(found)
        if total <= cap:
            number = min(number, max(1, ceil(total / size)))
        chosen, more = found[(number - 1) * size:number * size], len(found) > number * size
    else:
        total = db.session.scalar(select(func.count()).select_from(ids.order_by(None).limit(cap + 1).subquery()))
        if total <= cap:
            number = min(number, max(1, ceil(total / size)))
        else:
            number = min(number, 10 ** 6)  # (an absurd page number is no offset for the database)
        found = list(db.session.scalars(ids.limit(size + 1).offset((number - 1) * size)))
        chosen, more = found[:size], len(found) > size
    return Page(items=load(chosen), number=number, size=size, total=total, cap=cap, more=more)
