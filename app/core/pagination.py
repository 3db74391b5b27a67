"""Pagination with a COUNT and a LIMIT/OFFSET; never loads a whole table."""
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

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.size + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.number * self.size)


def paginate(stmt: Select, number, size: int | None = None) -> Page:
    size = size or current_app.config["PAGE_SIZE"]
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max(1, ceil(total / size))
    number = min(number, pages)
    query = stmt.limit(size).offset((number - 1) * size)
    items = list(db.session.scalars(query))
    return Page(items=items, number=number, size=size, total=total)
