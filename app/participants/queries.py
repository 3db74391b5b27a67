"""The participant list query: search, filters and sort, always through the scope."""
import re
from datetime import datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select, union_all
from sqlalchemy.orm import aliased, joinedload

from ..core.scoping import current_scope, scoped
from ..extensions import db
from ..core.timeutil import WIB
from .actions import action_condition
from ..regions.models import Kecamatan, Kelurahan
from .models import LICENSE_GROUPS, Participant, ParticipantStep
from .search import text_clause

SORTS = {  # the list's orders: (column, direction), …
    "baru": ((Participant.registered_at, "desc"), (Participant.id, "desc")),
    "lama": ((Participant.registered_at, "asc"), (Participant.id, "asc")),
    "nama": ((Participant.name_key, "asc"), (Participant.id, "asc")),
    "nomor": ((Participant.reg_number, "asc"), (Participant.id, "asc")),
}
_REG_NUMBER = re.compile(r"^\d{6}-\d{4}(-\d{1,5})?$")


def search_clause(term: str):
    """The one search of participants: name or business name (any part, see search.py), NIK (16 digits exact, else prefix), phone (08…/62…/+62…) or registration number."""
    return _search(term)[0]


def searches_text(term: str) -> bool:
    """Whether ``term`` searches names (the trigram index), not a number (NIK, phone, registration)."""
    return _search(term)[1]


def _search(term: str):
    term = term.strip()
    if _REG_NUMBER.match(term):
        return Participant.reg_number.startswith(term), False
    digits = re.sub(r"[\s\-.()]", "", term)
    if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 4:
        bare = digits.lstrip("+")
        if digits.startswith("+") or bare.startswith(("08", "62")):
            phone = "+62" + bare[1:] if bare.startswith("0") else "+" + bare
            return Participant.phone.startswith(phone), False
        if len(bare) == 16:
            return Participant.nik == bare, False
        return Participant.nik.startswith(bare), False
    return text_clause(term), True


# Data-quality figures of the weekly report and the list filters behind them (tanpa_hp, duplikat;
# tak_urut is reached_clause's out_of_order).
NO_PHONE = and_(Participant.phone.is_(None), Participant.status != "rejected")
_twin = aliased(Participant)
# A suspected duplicate: another (not rejected) participant registered by the same kecamatan with
# the same name and birth date (index ix_participant_kecamatan_name_birth serves the twin's lookup).
SUSPECTED_DUPLICATE = and_(Participant.status != "rejected", exists().where(
    _twin.kecamatan_id == Participant.kecamatan_id, _twin.name_key == Participant.name_key,
    _twin.birth_date == Participant.birth_date, _twin.status != "rejected", _twin.id != Participant.id))


def utc_start_of_day(day, end: bool = False) -> datetime:
    """Naive UTC of the start of ``day`` in WIB (of the next day when ``end``)."""
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=WIB)
    return (moment - moment.utcoffset()).replace(tzinfo=None)


def reached_clause(step: int | None, start=None, end=None, license_group: str | None = None,
                   out_of_order: bool = False):
    """Participants who reached ``step`` (any step when None) on a day from ``start`` to ``end``
    (inclusive, either open), P4 by a licence of ``license_group``, only steps recorded out of order
    when ``out_of_order``: what a dashboard or weekly-report figure counts."""
    conditions = [ParticipantStep.participant_id == Participant.id]
    if out_of_order:
        conditions.append(ParticipantStep.out_of_order)
    if license_group:
        step = 4
        kinds = LICENSE_GROUPS[license_group][1]
        if kinds is None:
            known = [k for _label, group in LICENSE_GROUPS.values() if group for k in group]
            conditions.append(or_(ParticipantStep.variant.is_(None), ParticipantStep.variant.not_in(known)))
        else:
            conditions.append(ParticipantStep.variant.in_(kinds))
    if step:
        conditions.append(ParticipantStep.step == step)
    if start:
        conditions.append(ParticipantStep.completed_on >= start)
    if end:
        conditions.append(ParticipantStep.completed_on <= end)
    return exists().where(*conditions)


# What a row of the list shows besides the participant, loaded in the same query.
ROW_OPTIONS = (joinedload(Participant.kelurahan), joinedload(Participant.kecamatan), joinedload(Participant.sector))


def _sort(filters: dict) -> tuple:
    return SORTS.get(filters.get("urut") or "baru", SORTS["baru"])


def _ordered(sort, source=None) -> list:
    """The ORDER BY of ``sort`` on the participant's columns, or on those of ``source`` (a CTE or
    subquery that selects them)."""
    return [getattr(column if source is None else source.c[column.key], direction)() for column, direction in sort]


def _ids_from(found, sort):
    """The ids ``found`` (selecting the sort's columns) holds, in the order ``sort``."""
    return select(found.c.id).order_by(*_ordered(sort, found))


def participant_query(filters: dict, scope=None):
    """The participants the list shows for ``filters``, in its order, with what a row shows."""
    return _matching(select(Participant), filters, scope).options(*ROW_OPTIONS).order_by(*_ordered(_sort(filters)))


NAME_ORDER = ((Participant.name_key, "asc"), (Participant.id, "asc"))


def ids_in_order(stmt, sort, searched: bool):
    """The ids of the participants ``stmt`` selects (a select from ``participant`` with its
    conditions, without order) in the order ``sort`` ((column, direction), …).

    When ``searched`` (a search term among the conditions) the matches are found first and sorted
    afterwards, on PostgreSQL through a materialised CTE: given an order and a limit, its planner,
    which cannot tell how many rows a ``LIKE`` matches, may instead walk the index of that order
    through the whole table testing every row (2.6 s for a name at 1,000,000 where the search
    index takes 15 ms). Every screen that searches participants takes its rows through here."""
    if not searched or db.session.get_bind().dialect.name != "postgresql":
        # (SQLite drives such a query from its search index by itself; a CTE would cost it a temporary table.)
        return stmt.with_only_columns(Participant.id).order_by(*_ordered(sort))
    found = stmt.with_only_columns(*(column for column, _ in sort)).cte("found").prefix_with("MATERIALIZED")
    return _ids_from(found, sort)


def participant_ids(filters: dict, scope=None):
    """The same list as ids only, in its order (see :func:`ids_in_order`, and
    :func:`app.core.pagination.paginate_ids`).

    On PostgreSQL a regional scope's list (but a search of names) is read in the two parts of the scope
    (:meth:`Participant.scope_parts`), each in its order from the kecamatan's or the kelurahan's
    rows, and the parts merged: given the OR of the whole scope, the planner walked the order's index
    through the province testing every row (a desk's list by number 0.5–1.4 s, a filter by step sorted
    by name 2.9 s, the suspected duplicates 0.4–0.7 s; in parts 40–90 ms). SQLite plans the OR well."""
    sort = _sort(filters)
    searched = bool(filters.get("q")) and searches_text(filters["q"])  # a NIK, phone or number: by its index in parts
    parts = None
    if not searched and db.session.get_bind().dialect.name == "postgresql":
        parts = Participant.scope_parts(scope or current_scope())
    if parts is None:
        return ids_in_order(_matching(select(Participant.id), filters, scope), sort, searched)
    columns, conditions = [column for column, _ in sort], _conditions(filters)
    return _ids_from(union_all(*[select(*columns).where(part, *conditions) for part in parts]).subquery("found"), sort)


def participants_by_id(ids: list[int], scope=None, options=ROW_OPTIONS) -> list[Participant]:
    """The participants of ``ids`` (through the scope), in the order of ``ids``, with ``options``
    (by default what a row of the list shows)."""
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(
        scoped(select(Participant), Participant, scope).options(*options).where(Participant.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _matching(stmt, filters: dict, scope=None):
    """``stmt`` through the scope with the conditions of ``filters``."""
    return scoped(stmt, Participant, scope).where(*_conditions(filters))


def _conditions(filters: dict) -> list:
    """The list's filters as conditions on ``participant`` (the scope apart)."""
    conditions = []
    if filters.get("q"):
        clause = search_clause(filters["q"])
        if clause is not None:
            conditions.append(clause)
    if filters.get("kelurahan"):
        conditions.append(Participant.kelurahan_id == int(filters["kelurahan"]))
    if filters.get("kecamatan"):  # of domicile, as the figures count
        conditions.append(Participant.kelurahan_id.in_(
            select(Kelurahan.id).where(Kelurahan.kecamatan_id == int(filters["kecamatan"]))))
    if filters.get("kota"):
        conditions.append(Participant.kelurahan_id.in_(select(Kelurahan.id).join(Kecamatan).where(
            Kecamatan.kota_id == int(filters["kota"]))))
    if filters.get("capai_dari") or filters.get("capai_sampai") or filters.get("izin") or filters.get("tak_urut"):
        conditions.append(reached_clause(int(filters["step"]) if filters.get("step") else None,
                                         filters.get("capai_dari"), filters.get("capai_sampai"),
                                         filters.get("izin") or None, bool(filters.get("tak_urut"))))
    elif filters.get("step"):
        conditions.append(Participant.has_step(int(filters["step"])))
    if filters.get("aksi"):
        conditions.append(action_condition(filters["aksi"]))
    if filters.get("tanpa_hp"):
        conditions.append(NO_PHONE)
    if filters.get("duplikat"):
        conditions.append(SUSPECTED_DUPLICATE)
    if filters.get("channel"):
        conditions.append(Participant.channel == filters["channel"])
    if filters.get("status"):
        conditions.append(Participant.status == filters["status"])
    if filters.get("dari"):
        conditions.append(Participant.registered_at >= utc_start_of_day(filters["dari"]))
    if filters.get("sampai"):
        conditions.append(Participant.registered_at < utc_start_of_day(filters["sampai"], end=True))
    return conditions
