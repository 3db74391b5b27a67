"""The one scoping function: what a user may see and change, by region and role.

Every list, detail page, fragment, PDF and export builds its query and passes it through
:func:`scoped`. A model that holds data of a kecamatan defines ``scope_clause(scope)``
returning a SQL condition (``None`` for "everything"). Records outside the scope are
answered with 404, so ids of other kecamatan reveal nothing.
"""
from dataclasses import dataclass, field
from functools import lru_cache

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, bindparam, false, select

from ..extensions import db

PROVINCE, KOTA, KECAMATAN, NONE = "province", "kota", "kecamatan", "none"


@dataclass(frozen=True)
class Scope:
    """A user's reach. ``kecamatan_ids`` is ``None`` for the whole province."""

    level: str
    role: str | None = None
    user_id: int | None = None
    kota_id: int | None = None
    kecamatan_id: int | None = None
    kecamatan_ids: frozenset[int] | None = field(default=frozenset())

    @property
    def is_province(self) -> bool:
        return self.level == PROVINCE

    def covers_kecamatan(self, kecamatan_id: int | None) -> bool:
        if self.kecamatan_ids is None:
            return True
        return kecamatan_id is not None and kecamatan_id in self.kecamatan_ids


NO_SCOPE = Scope(level=NONE)


def current_scope() -> Scope:
    if not current_user or not current_user.is_authenticated:
        return NO_SCOPE
    return current_user.scope()


def kecamatan_clause(column, scope: Scope):
    """Condition on a kecamatan-id column for ``scope`` (``None`` means no restriction)."""
    if scope.kecamatan_ids is None:
        return None
    if not scope.kecamatan_ids:
        return false()
    if len(scope.kecamatan_ids) == 1:
        return column == next(iter(scope.kecamatan_ids))
    return column.in_(sorted(scope.kecamatan_ids))


def scoped(stmt: Select, model, scope: Scope | None = None) -> Select:
    """Restrict ``stmt`` to the rows of ``model`` that ``scope`` (default: the current user) may see."""
    scope = scope or current_scope()
    clause = model.scope_clause(scope)
    return stmt if clause is None else stmt.where(clause)


@lru_cache(maxsize=4096)
def _by_id(model, scope: Scope) -> Select:
    """One record of ``model`` by id (bound as ``ident``) through ``scope``: built once per model
    and scope, so its SQL and cache key are worked out once, not on every request."""
    return scoped(select(model).where(model.id == bindparam("ident")), model, scope)


def get_or_404(model, ident, scope: Scope | None = None, options: tuple = ()):
    """Load one record by primary key through the scope; 404 if missing, out of scope, or no possible id
    (see :func:`~app.core.converters.parse_id`: a query or form value is checked like a URL's).
    ``options``: loader options (the related rows the view will use, in the same query)."""
    from .converters import parse_id

    ident = parse_id(ident)
    if ident is None:
        abort(404)
    stmt = _by_id(model, scope or current_scope())
    obj = db.session.scalars(stmt.options(*options) if options else stmt, {"ident": ident}).first()
    if obj is None:
        abort(404)
    return obj
