"""The figures of the dashboard and the weekly report, read from the tallies.

Every figure is counted per kelurahan in one grouped query through the scope, then added up in
Python to kecamatan, kota and province, so a region's number is always the sum of its parts and
the same on the screen, in the PDF and in the spreadsheet.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import abort
from sqlalchemy import func, select

from ..core.scoping import KECAMATAN, KOTA, PROVINCE, Scope, get_or_404, scoped
from ..extensions import db
from ..participants.actions import ACTIONS, action_condition, mask_matches
from ..participants.queries import NO_PHONE, SUSPECTED_DUPLICATE
from ..participants.models import Participant
from ..participants.steps import STEPS
from ..regions.models import Kecamatan, Kelurahan, Kota
from ..settings.services import current_program_settings
from ..participants.models import ParticipantStep
from .models import ParticipantTally, QualityTally, StepTally, StepVariantTally, StepVariantYearTally
from .tallies import period_of

LEVELS = ["provinsi", "kota", "kecamatan", "kelurahan"]
LEVEL_LABELS = {"provinsi": "Provinsi", "kota": "Kota/kabupaten", "kecamatan": "Kecamatan", "kelurahan": "Kelurahan"}
PROVINCE_NAME = "Provinsi DKI Jakarta"
STEP_NUMBERS = [s.number for s in STEPS]


@dataclass(frozen=True)
class Variant:
    """A kind of step shown as a figure: P1 by channel, P4 by licence kind. ``kinds`` are the
    ``ParticipantStep.variant`` values it counts; None for "the rest of the step" (P4 not from a licence
    of a known kind). ``filter`` is its participant-list filter (``channel=…`` or ``izin=…``)."""

    key: str
    step: int
    label: str
    kinds: tuple[str, ...] | None
    filter: tuple[str, str]


VARIANTS = [
    Variant("p1_walkin", 1, "Datang langsung", ("walkin",), ("channel", "walkin")),
    Variant("p1_online", 1, "Daring", ("online",), ("channel", "online")),
    Variant("p1_import", 1, "Impor", ("import",), ("channel", "import")),
    Variant("p4_iumk_nib", 4, "IUMK/NIB", ("iumk", "nib"), ("izin", "iumk_nib")),
    Variant("p4_sku", 4, "SKU", ("sku",), ("izin", "sku")),
    Variant("p4_lainnya", 4, "Lainnya", None, ("izin", "lainnya")),
]
VARIANT_BY_KEY = {v.key: v for v in VARIANTS}
# The licence kinds of the list filter ``izin`` (``lainnya``: P4 reached otherwise).
LICENSE_GROUPS = {v.filter[1]: v.kinds for v in VARIANTS if v.step == 4}


def _variant_key(step: int, kind: str | None) -> str | None:
    rest = None
    for v in VARIANTS:
        if v.step != step:
            continue
        if v.kinds is None:
            rest = v.key
        elif kind in v.kinds:
            return v.key
    return rest


@dataclass(frozen=True)
class Region:
    level: str
    id: int | None
    code: str
    name: str
    parent_id: int | None = None


class RegionTree:
    """Jakarta's 6 kota, 44 kecamatan and 267 kelurahan, loaded once per request (three small queries)."""

    def __init__(self):
        self.province = Region("provinsi", None, "31", PROVINCE_NAME)
        self.kota = {k.id: Region("kota", k.id, k.code, k.short_name) for k in db.session.scalars(select(Kota))}
        self.kecamatan = {k.id: Region("kecamatan", k.id, k.code, k.name, k.kota_id)
                          for k in db.session.scalars(select(Kecamatan))}
        self.kelurahan = {k.id: Region("kelurahan", k.id, k.code, k.name, k.kecamatan_id)
                          for k in db.session.scalars(select(Kelurahan))}

    def of_level(self, level: str) -> dict[int | None, Region]:
        return {"provinsi": {None: self.province}, "kota": self.kota, "kecamatan": self.kecamatan,
                "kelurahan": self.kelurahan}[level]

    def ancestor(self, kelurahan_id: int, level: str) -> int | None:
        """The id of the region of ``level`` that holds a kelurahan."""
        if level == "kelurahan":
            return kelurahan_id
        kecamatan_id = self.kelurahan[kelurahan_id].parent_id
        if level == "kecamatan":
            return kecamatan_id
        if level == "kota":
            return self.kecamatan[kecamatan_id].parent_id
        return None

    def parent(self, region: Region) -> Region | None:
        if region.level == "kelurahan":
            return self.kecamatan[region.parent_id]
        if region.level == "kecamatan":
            return self.kota[region.parent_id]
        if region.level == "kota":
            return self.province
        return None


@dataclass
class Area:
    """The region a dashboard or report is about, checked against the user's scope."""

    region: Region
    tree: RegionTree
    scope: Scope

    @property
    def level(self) -> str:
        return self.region.level

    @property
    def levels_below(self) -> list[str]:
        return LEVELS[LEVELS.index(self.level) + 1:]

    @property
    def child_level(self) -> str | None:
        below = self.levels_below
        return below[0] if below else None

    def contains(self, kelurahan_id: int) -> bool:
        return self.level == "provinsi" or self.tree.ancestor(kelurahan_id, self.level) == self.region.id

    def kelurahan_ids(self) -> list[int]:
        return sorted(k for k in self.tree.kelurahan if self.contains(k))

    def where_domicile(self, stmt):
        """A participant query restricted to the user's scope and to those living in this area: the
        figures count participants by domicile, as the participant list's domicile filters do."""
        stmt = scoped(stmt, Participant, self.scope)
        if self.level == "kelurahan":
            return stmt.where(Participant.kelurahan_id == self.region.id)
        if self.level in ("kecamatan", "kota"):
            return stmt.where(Participant.kelurahan_id.in_(self.kelurahan_ids()))
        return stmt

    def where(self, stmt, model):
        """``stmt`` restricted to the user's scope and to this area (``model`` has kelurahan_id and kecamatan_id)."""
        stmt = scoped(stmt, model, self.scope)
        if self.level == "kelurahan":
            return stmt.where(model.kelurahan_id == self.region.id)
        if self.level == "kecamatan":
            return stmt.where(model.kecamatan_id == self.region.id)
        if self.level == "kota":
            ids = sorted(k.id for k in self.tree.kecamatan.values() if k.parent_id == self.region.id)
            return stmt.where(model.kecamatan_id.in_(ids))
        return stmt

    def trail(self) -> list[Region]:
        """The regions from the user's top region down to this one (for the breadcrumb)."""
        chain, region = [], self.region
        while region is not None:
            chain.append(region)
            if region.level == _root_level(self.scope):
                break
            region = self.tree.parent(region)
        return list(reversed(chain))


def _root_level(scope: Scope) -> str:
    return {PROVINCE: "provinsi", KOTA: "kota", KECAMATAN: "kecamatan"}.get(scope.level, "kecamatan")


def area_for(scope: Scope, level: str | None = None, ident: int | None = None) -> Area:
    """The area of ``level``/``ident``, or the user's whole scope; 404 when outside the scope."""
    tree = RegionTree()
    if level is None:
        level = _root_level(scope)
        ident = {"kota": scope.kota_id, "kecamatan": scope.kecamatan_id}.get(level)
    if level == "provinsi":
        if not scope.is_province:
            abort(404)
        return Area(tree.province, tree, scope)
    model = {"kota": Kota, "kecamatan": Kecamatan, "kelurahan": Kelurahan}[level]
    record = get_or_404(model, ident, scope)
    return Area(tree.of_level(level)[record.id], tree, scope)


# --- Counting ------------------------------------------------------------------------------

@dataclass
class Figures:
    """One region's numbers. ``steps[i]`` is the count of step P(i+1)."""

    region: Region
    steps: list[int] = field(default_factory=lambda: [0] * 7)
    new: list[int] = field(default_factory=lambda: [0] * 7)
    prev: list[int] = field(default_factory=lambda: [0] * 7)
    out_of_order: int = 0
    p4_year: int = 0
    target: int = 0
    no_phone: int = 0
    duplicates: int = 0
    target_sum: int = 0  # the targets of the regions below added up (differs from a set province target)
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    # P1 by channel and P4 by licence kind: "total" up to the day of the figures, "year" within the
    # year shown, "new" within the report's week.
    variants: dict[str, dict[str, int]] = field(default_factory=lambda: {
        name: dict.fromkeys(VARIANT_BY_KEY, 0) for name in ("total", "year", "new")})

    @property
    def attainment(self) -> float | None:
        return self.p4_year / self.target if self.target > 0 else None

    @property
    def change(self) -> list[int]:
        return [a - b for a, b in zip(self.new, self.prev)]

    @property
    def action_total(self) -> int:
        return sum(self.actions.values())

    def funnel(self) -> list[dict]:
        """Each step with the share kept from the step before and from P1 (None where that is zero)."""
        rows = []
        for i, count in enumerate(self.steps):
            before = self.steps[i - 1] if i else None
            rows.append({"step": STEPS[i], "count": count,
                         "of_previous": (count / before) if before else None,
                         "of_p1": (count / self.steps[0]) if self.steps[0] else None})
        return rows


def _steps_by_kelurahan(area: Area, start: date | None = None, end: date | None = None,
                        steps: list[int] | None = None):
    stmt = select(StepTally.kelurahan_id, StepTally.step, func.sum(StepTally.n)).group_by(
        StepTally.kelurahan_id, StepTally.step)
    if start:
        stmt = stmt.where(StepTally.period_start >= start)
    if end:
        stmt = stmt.where(StepTally.period_start < end)
    stmt = stmt.where(StepTally.step.in_(steps or STEP_NUMBERS))  # lets the (step, period) index serve ranges
    return db.session.execute(area.where(stmt, StepTally)).all()


def _licences(area: Area, start: date, end: date) -> dict[int, int]:
    """P4 reached per kelurahan from ``start`` up to (not including) ``end``."""
    return {kelurahan_id: n for kelurahan_id, _step, n in _steps_by_kelurahan(area, start, end, steps=[4])}


def next_period(day: date) -> date:
    """The start of the tally period after the one ``day`` falls in."""
    return min(day - timedelta(days=day.weekday()) + timedelta(days=7), date(day.year + 1, 1, 1))


VARIANT_STEPS = sorted({v.step for v in VARIANTS})


def _variants_by_kelurahan(area: Area, start: date | None = None, end: date | None = None):
    """(kelurahan, step, variant, participants) of the periods from ``start`` to before ``end`` (period
    starts; None: open). Whole years come from the yearly roll-up; the part of a year at either end
    from its weeks, or from its year less the weeks outside the part, whichever reads fewer weeks.
    Rows of one key may repeat (and be negative): callers add them up."""
    rows = []
    first_full = None if start is None else (start.year if start == date(start.year, 1, 1) else start.year + 1)
    last_full = None if end is None else end.year - 1
    if first_full is None or last_full is None or first_full <= last_full:
        rows += _variant_years(area, first_full, last_full)
    parts = []
    if start is not None and start != date(start.year, 1, 1):
        parts.append((start, min(end, date(start.year + 1, 1, 1)) if end else date(start.year + 1, 1, 1)))
    if end is not None and end != date(end.year, 1, 1) and not (parts and start.year == end.year):
        parts.append((max(start, date(end.year, 1, 1)) if start else date(end.year, 1, 1), end))
    for a, b in parts:
        year_start, year_end = date(a.year, 1, 1), date(a.year + 1, 1, 1)
        if (b - a) * 2 <= year_end - year_start:
            rows += _variant_weeks(area, a, b)
            continue
        rows += _variant_years(area, a.year, a.year)
        for outside in ((year_start, a), (b, year_end)):
            if outside[0] < outside[1]:
                rows += [(k, s, v, -n) for k, s, v, n in _variant_weeks(area, *outside)]
    return rows


def _variant_weeks(area: Area, start: date, end: date):
    """(kelurahan, step, variant, participants) from the weekly variant tally, periods in [start, end)."""
    stmt = (select(StepVariantTally.kelurahan_id, StepVariantTally.step, StepVariantTally.variant,
                   func.sum(StepVariantTally.n))
            .where(StepVariantTally.step.in_(VARIANT_STEPS), StepVariantTally.period_start >= start,
                   StepVariantTally.period_start < end)
            .group_by(StepVariantTally.kelurahan_id, StepVariantTally.step, StepVariantTally.variant))
    return db.session.execute(area.where(stmt, StepVariantTally)).all()


def _variant_years(area: Area, first: int | None, last: int | None):
    """The same from the yearly roll-up, years ``first`` to ``last`` (None: open)."""
    stmt = (select(StepVariantYearTally.kelurahan_id, StepVariantYearTally.step, StepVariantYearTally.variant,
                   func.sum(StepVariantYearTally.n))
            .where(StepVariantYearTally.step.in_(VARIANT_STEPS))
            .group_by(StepVariantYearTally.kelurahan_id, StepVariantYearTally.step, StepVariantYearTally.variant))
    if first is not None:
        stmt = stmt.where(StepVariantYearTally.year >= first)
    if last is not None:
        stmt = stmt.where(StepVariantYearTally.year <= last)
    return db.session.execute(area.where(stmt, StepVariantYearTally)).all()


def _dated_after(area: Area, day: date):
    """(kelurahan of domicile, step, variant, participants) of steps dated after ``day`` in its own tally
    period: at most six days of steps, read from the records (index on completed_on, step)."""
    stmt = dated_after_query(area, day)
    return [] if stmt is None else db.session.execute(stmt).all()


def dated_after_query(area: Area, day: date):
    """The query of :func:`_dated_after` (None when ``day`` ends its period)."""
    end = next_period(day)
    if end <= day + timedelta(days=1):
        return None
    # The week's steps first (OFFSET 0: a subquery the planner keeps whole), then their participants
    # by primary key; ``kelurahan_id + 0`` keeps the area's kelurahan index out of the choice. Joined
    # the other way round, SQLite (which has no statistics) starts from every participant of the area
    # and reads their steps: linear in the participants (a kota at 1,000,000: ~1 s of CPU; issue 17).
    week = (select(ParticipantStep.participant_id, ParticipantStep.step, ParticipantStep.variant)
            .where(ParticipantStep.completed_on > day, ParticipantStep.completed_on < end).offset(0).subquery())
    stmt = (select(Participant.kelurahan_id, week.c.step, week.c.variant, func.count())
            .select_from(week).join(Participant, Participant.id == week.c.participant_id)
            .group_by(Participant.kelurahan_id, week.c.step, week.c.variant))
    stmt = scoped(stmt, Participant, area.scope)
    if area.level != "provinsi":
        stmt = stmt.where((Participant.kelurahan_id + 0).in_(area.kelurahan_ids()))
    return stmt


def _through(area: Area, day: date, start: date | None = None):
    """Steps and their variants dated from ``start`` (a period start, or the beginning) up to and
    including ``day``: the tallies to the end of ``day``'s period, less that period's later days."""
    end = next_period(day)
    late = _dated_after(area, day)
    steps = list(_steps_by_kelurahan(area, start, end)) + [(k, s, -n) for k, s, _v, n in late]
    variants = list(_variants_by_kelurahan(area, start, end)) + [(k, s, v, -n) for k, s, v, n in late]
    return steps, variants


def _out_of_order_by_kelurahan(area: Area, end: date) -> dict[int, int]:
    """Participants, by domicile, with a step recorded out of order before ``end``: the list filter
    ``tak_urut`` up to the day before ``end`` (few rows: a partial index holds only those steps)."""
    flagged = select(ParticipantStep.participant_id).where(ParticipantStep.out_of_order,
                                                           ParticipantStep.completed_on < end)
    stmt = (select(Participant.kelurahan_id, func.count()).where(Participant.id.in_(flagged))
            .group_by(Participant.kelurahan_id))
    return dict(db.session.execute(area.where_domicile(stmt)).all())


def _masks_by_kelurahan(area: Area):
    """(kelurahan, set of steps as a mask, participants): a few thousand rows for the whole province."""
    stmt = (select(ParticipantTally.kelurahan_id, ParticipantTally.steps_mask, func.sum(ParticipantTally.n))
            .where(ParticipantTally.steps_mask != 0)
            .group_by(ParticipantTally.kelurahan_id, ParticipantTally.steps_mask))
    return db.session.execute(area.where(stmt, ParticipantTally)).all()


def _participants_by_kelurahan(area: Area, *conditions) -> dict[int, int]:
    stmt = select(Participant.kelurahan_id, func.count()).where(*conditions).group_by(Participant.kelurahan_id)
    return dict(db.session.execute(area.where_domicile(stmt)).all())


class Ledger:
    """Figures for every region of an area, per kelurahan first and then added up."""

    def __init__(self, area: Area):
        self.area = area
        self.kelurahan = {k: Figures(area.tree.kelurahan[k]) for k in area.kelurahan_ids()}
        settings = current_program_settings()
        self.target_kelurahan = settings.target_kelurahan_per_year
        self.target_province = settings.target_province_per_year

    def add_steps(self, attribute: str, rows) -> None:
        for kelurahan_id, step, n in rows:
            figures = self.kelurahan.get(kelurahan_id)
            if figures is not None:
                getattr(figures, attribute)[step - 1] += n

    def add_masks(self, rows) -> None:
        """All-time step totals and the step-based action lists, from the participant tally."""
        for kelurahan_id, mask, n in rows:
            figures = self.kelurahan.get(kelurahan_id)
            if figures is None:
                continue
            for i in range(7):
                if mask & (1 << i):
                    figures.steps[i] += n
            for key in ACTIONS:
                if mask_matches(key, mask):
                    figures.actions[key] += n

    def subtract_steps(self, rows) -> None:
        """Take away steps completed after the period of interest (``steps`` becomes 'up to then')."""
        for kelurahan_id, step, n in rows:
            if kelurahan_id in self.kelurahan:
                self.kelurahan[kelurahan_id].steps[step - 1] -= n

    def add_variants(self, name: str, rows) -> None:
        """(kelurahan, step, variant, n) rows into ``variants[name]`` (the rest of P4 comes in :meth:`finish`)."""
        for kelurahan_id, step, kind, n in rows:
            figures = self.kelurahan.get(kelurahan_id)
            key = _variant_key(step, kind)
            if figures is not None and key is not None and VARIANT_BY_KEY[key].kinds is not None:
                figures.variants[name][key] += n

    def finish(self, totals: dict[str, str]) -> None:
        """Each variant without kinds is its step's figure less the variants named: ``totals`` maps a
        variants name to the Figures attribute holding the step counts ("steps", "new", "p4_year")."""
        for figures in self.kelurahan.values():
            for name, attribute in totals.items():
                value = getattr(figures, attribute)
                for v in VARIANTS:
                    if v.kinds is not None:
                        continue
                    whole = value if isinstance(value, int) else value[v.step - 1]
                    named = sum(figures.variants[name][o.key] for o in VARIANTS if o.step == v.step and o.kinds)
                    figures.variants[name][v.key] = whole - named

    def add_counts(self, attribute: str, counts: dict[int, int]) -> None:
        for kelurahan_id, n in counts.items():
            if kelurahan_id in self.kelurahan:
                setattr(self.kelurahan[kelurahan_id], attribute, getattr(self.kelurahan[kelurahan_id], attribute) + n)

    def add_action(self, key: str, counts: dict[int, int]) -> None:
        for kelurahan_id, n in counts.items():
            if kelurahan_id in self.kelurahan:
                self.kelurahan[kelurahan_id].actions[key] += n

    def level(self, level: str) -> list[Figures]:
        """Figures of every region of ``level`` in the area, ordered by code."""
        tree = self.area.tree
        totals: dict[int | None, Figures] = {}
        counts: dict[int | None, int] = defaultdict(int)
        for kelurahan_id, figures in self.kelurahan.items():
            key = tree.ancestor(kelurahan_id, level)
            counts[key] += 1
            total = totals.setdefault(key, Figures(tree.of_level(level)[key]))
            for name in ("steps", "new", "prev"):
                setattr(total, name, [a + b for a, b in zip(getattr(total, name), getattr(figures, name))])
            for name in ("out_of_order", "p4_year", "no_phone", "duplicates"):
                setattr(total, name, getattr(total, name) + getattr(figures, name))
            for key_ in ACTIONS:
                total.actions[key_] += figures.actions[key_]
            for name, values in figures.variants.items():
                for key_, n in values.items():
                    total.variants[name][key_] += n
        for key, total in totals.items():
            total.target_sum = counts[key] * self.target_kelurahan
            total.target = self.target_province if level == "provinsi" else total.target_sum
        return sorted(totals.values(), key=lambda f: f.region.code)

    def total(self) -> Figures:
        return self.level(self.area.level)[0] if self.kelurahan else Figures(self.area.region)


# --- The dashboard -------------------------------------------------------------------------

@dataclass
class Week:
    monday: date
    registered: int = 0
    licensed: int = 0

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def weeks_chart(area: Area, today: date, count: int = 12) -> list[Week]:
    """Verified registrations (P1) and licences (P4) per week, the current week last."""
    this_monday = today - timedelta(days=today.weekday())
    weeks = {this_monday - timedelta(weeks=i): Week(this_monday - timedelta(weeks=i)) for i in range(count)}
    first = min(weeks)
    rows = _steps_by_period(area, first, [1, 4])
    for period, step, n in rows:
        week = weeks.get(period - timedelta(days=period.weekday()))
        if week is None:
            continue
        if step == 1:
            week.registered += n
        else:
            week.licensed += n
    return [weeks[m] for m in sorted(weeks)]


def _steps_by_period(area: Area, start: date, steps: list[int]):
    stmt = (select(StepTally.period_start, StepTally.step, func.sum(StepTally.n))
            .where(StepTally.period_start >= start, StepTally.step.in_(steps))
            .group_by(StepTally.period_start, StepTally.step))
    return db.session.execute(area.where(stmt, StepTally)).all()


@dataclass
class Dashboard:
    area: Area
    today: date
    total: Figures
    rows: list[Figures]
    behind: list[Figures]
    chart: list[Week]
    action_rows: list[Figures]
    year_share: float
    year: int = 0
    per: date | None = None  # the "as of" day of the figures (``today`` unless a past day was chosen)

    @property
    def expected_to_date(self) -> int:
        return round(self.total.target * self.year_share)

    @property
    def year_start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def year_end(self) -> date:
        """The last day the year's figures count: 31 December, or the "as of" day within the year."""
        return min(date(self.year, 12, 31), self.per)


def dashboard(area: Area, today: date, year: int | None = None, per: date | None = None) -> Dashboard:
    """The dashboard as of ``per`` (default today: steps dated on or before it) for the ``year``
    (default the year of ``per``): licences of that year against its target and pace."""
    per = per or today
    year = year or per.year
    ledger = Ledger(area)
    ledger.add_masks(_masks_by_kelurahan(area))
    # Up to ``per`` = every step now, less those of later periods and those later in per's own period.
    late = _dated_after(area, per)
    ledger.subtract_steps(_steps_by_kelurahan(area, start=next_period(per)))
    ledger.subtract_steps([(k, s, n) for k, s, _v, n in late])
    ledger.add_variants("total", _variants_by_kelurahan(area, end=next_period(per)))
    ledger.add_variants("total", [(k, s, v, -n) for k, s, v, n in late])
    year_start = date(year, 1, 1)
    if year_start <= per:
        steps, variants = _through(area, min(date(year, 12, 31), per), start=year_start)
        ledger.add_counts("p4_year", _sum_by_kelurahan(steps, 4))
        ledger.add_variants("year", variants)
    ledger.finish({"total": "steps", "year": "p4_year"})
    ledger.add_action("daring_tertunda", _participants_by_kelurahan(area, action_condition("daring_tertunda")))
    child = area.child_level
    kelurahan = ledger.level("kelurahan")
    behind = [] if area.level == "kelurahan" else sorted(
        kelurahan, key=lambda f: (f.attainment if f.attainment is not None else 0, f.region.code))[:10]
    actions = sorted((f for f in kelurahan if f.action_total), key=lambda f: (-f.action_total, f.region.code))
    year_days = (date(year + 1, 1, 1) - year_start).days
    elapsed = min(max((per - year_start).days + 1, 0), year_days)
    return Dashboard(area=area, today=today, total=ledger.total(), rows=ledger.level(child) if child else [],
                     behind=behind, chart=weeks_chart(area, per), action_rows=actions,
                     year_share=elapsed / year_days, year=year, per=per)


def _sum_by_kelurahan(rows, step: int) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for kelurahan_id, s, n in rows:
        if s == step:
            counts[kelurahan_id] += n
    return counts


# --- The weekly report ---------------------------------------------------------------------

@dataclass
class WeeklyReport:
    area: Area
    monday: date
    total: Figures
    levels: dict[str, list[Figures]]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def prev_monday(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def prev_sunday(self) -> date:
        return self.monday - timedelta(days=1)

    @property
    def year_start(self) -> date:
        return date(self.sunday.year, 1, 1)


def duplicate_counts(area: Area) -> dict[int, int]:
    """Suspected duplicates (``SUSPECTED_DUPLICATE``, the list filter ``duplikat``) per kelurahan of
    domicile, asking the condition of each resident of the area (an index seek each): for a
    kecamatan, a kelurahan, or a pendamping's participants. A kota or the province reads the quality
    tally instead (:func:`_quality_by_kelurahan`)."""
    stmt = (select(Participant.kelurahan_id, func.count()).where(SUSPECTED_DUPLICATE)
            .group_by(Participant.kelurahan_id))
    return dict(db.session.execute(area.where_domicile(stmt)).all())


def _quality_by_kelurahan(area: Area) -> tuple[dict[int, int], dict[int, int]]:
    """Participants without a phone, and suspected duplicates, per kelurahan of domicile (the quality tally)."""
    stmt = select(QualityTally.kelurahan_id, QualityTally.n_no_phone, QualityTally.n_duplicate)
    rows = db.session.execute(area.where(stmt, QualityTally)).all()
    return {k: a for k, a, _b in rows}, {k: b for k, _a, b in rows}


def weekly_report(area: Area, monday: date) -> WeeklyReport:
    end = monday + timedelta(days=7)
    ledger = Ledger(area)
    # Up to the week's end = all steps now, less those completed after it (few, for a recent week).
    ledger.add_masks(_masks_by_kelurahan(area))
    ledger.subtract_steps(_steps_by_kelurahan(area, start=end))
    ledger.add_counts("out_of_order", _out_of_order_by_kelurahan(area, end))
    ledger.add_steps("new", _steps_by_kelurahan(area, start=monday, end=end))
    ledger.add_steps("prev", _steps_by_kelurahan(area, start=monday - timedelta(days=7), end=monday))
    sunday = monday + timedelta(days=6)
    ledger.add_counts("p4_year", _licences(area, date(sunday.year, 1, 1), end))
    ledger.add_variants("total", _variants_by_kelurahan(area, end=end))
    ledger.add_variants("new", _variants_by_kelurahan(area, start=monday, end=end))
    ledger.add_variants("year", _variants_by_kelurahan(area, start=date(sunday.year, 1, 1), end=end))
    ledger.finish({"total": "steps", "new": "new", "year": "p4_year"})
    if area.level in ("kecamatan", "kelurahan") or area.scope.role == "pendamping":
        ledger.add_counts("no_phone", _participants_by_kelurahan(area, NO_PHONE))
        ledger.add_counts("duplicates", duplicate_counts(area))
    else:
        # A kota or the province (whose residents are all within the viewer's scope): the quality tally.
        no_phone, duplicates = _quality_by_kelurahan(area)
        ledger.add_counts("no_phone", no_phone)
        ledger.add_counts("duplicates", duplicates)
    return WeeklyReport(area=area, monday=monday, total=ledger.total(),
                        levels={level: ledger.level(level) for level in area.levels_below})


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
