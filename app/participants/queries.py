"""The participant list query: search, filters and sort, always through the scope."""
import re
from datetime import datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased, joinedload

from ..core.scoping import scoped
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
    term = term.strip()
    if _REG_NUMBER.match(term):
        return Participant.reg_number.startswith(term)
    digits = re.sub(r"[\s\-.()]", "", term)
    if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 4:
        bare = digits.lstrip("+")
        if digits.startswith("+") or bare.startswith(("08", "62")):
            phone = "+62" + bare[1:] if bare.startswith("0") else "+" + bare
            return Participant.phone.startswith(phone)
        if len(bare) == 16:
            return Participant.nik == bare
        return Participant.nik.startswith(bare)
    return text_clause(term)


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


def participant_query(filters: dict, scope=None):
    """The participants the list shows for ``filters``, in its order, with what a row shows."""
    return (_matching(select(Participant), filters, scope).options(*ROW_OPTIONS)
            .order_by(*[getattr(column, direction)() for column, direction in _sort(filters)]))


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
        return stmt.with_only_columns(Participant.id).order_by(
            *[getattr(column, direction)() for column, direction in sort])
    columns = tuple(column for column, _ in sort)
    found = stmt.with_only_columns(*columns).cte("found").prefix_with("MATERIALIZED")
    return select(found.c.id).order_by(*[getattr(found.c[column.key], direction)() for column, direction in sort])


def participant_ids(filters: dict, scope=None):
    """The same list as ids only, in its order (see :func:`ids_in_order`, and
    :func:`app.core.pagination.paginate_ids`)."""
    return ids_in_order(_matching(select(Participant.id), filters, scope), _sort(filters), bool(filters.get("q")))


def participants_by_id(ids: list[int], scope=None, options=ROW_OPTIONS) -> list[Participant]:
    """The participants of ``ids`` (through the scope), in the order of ``ids``, with ``options``
    (by default what a row of the list shows)."""
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(
        scoped(select(Participant), Participant, scope).options(*options).where(Participant.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _matching(stmt, filters: dict, scope=None):
    stmt = scoped(stmt, Participant, scope)
    if filters.get("q"):
        clause = search_clause(filters["q"])
        if clause is not None:
            stmt = stmt.where(clause)
    if filters.get("kelurahan"):
        stmt = stmt.where(Participant.kelurahan_id == int(filters["kelurahan"]))
    if filters.get("kecamatan"):  # of domicile, as the figures count
        stmt = stmt.where(Participant.kelurahan_id.in_(
            select(Kelurahan.id).where(Kelurahan.kecamatan_id == int(filters["kecamatan"]))))
    if filters.get("kota"):
        stmt = stmt.where(Participant.kelurahan_id.in_(select(Kelurahan.id).join(Kecamatan).where(
            Kecamatan.kota_id == int(filters["kota"]))))
    if filters.get("capai_dari") or filters.get("capai_sampai") or filters.get("izin") or filters.get("tak_urut"):
        stmt = stmt.where(reached_clause(int(filters["step"]) if filters.get("step") else None,
                                         filters.get("capai_dari"), filters.get("capai_sampai"),
                                         filters.get("izin") or None, bool(filters.get("tak_urut"))))
    elif filters.get("step"):
        stmt = stmt.where(Participant.has_step(int(filters["step"])))
    if filters.get("aksi"):
        stmt = stmt.where(action_condition(filters["aksi"]))
    if filters.get("tanpa_hp"):
        stmt = stmt.where(NO_PHONE)
    if filters.get("duplikat"):
        stmt = stmt.where(SUSPECTED_DUPLICATE)
    if filters.get("channel"):
        stmt = stmt.where(Participant.channel == filters["channel"])
    if filters.get("status"):
        stmt = stmt.where(Participant.status == filters["status"])
    if filters.get("dari"):
        stmt = stmt.where(Participant.registered_at >= utc_start_of_day(filters["dari"]))
    if filters.get("sampai"):
        stmt = stmt.where(Participant.registered_at < utc_start_of_day(filters["sampai"], end=True))
    return stmt
