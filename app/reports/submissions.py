"""The weekly report as the province receives it: a kecamatan submits its week, the kota's Sudin
approves it or returns it with a note, and every version stays frozen (issue 20).

A week's state lives in one :class:`WeeklySubmission` row per kecamatan and week. Each action
moves it with one conditional ``UPDATE … WHERE state IN (…)``: the row lock (PostgreSQL) or the
write lock (SQLite) makes concurrent actions take turns, and the second finds the state moved
and is refused with a message — nothing is applied twice. The version frozen by a submission
(:class:`WeeklySnapshot`) is written in the same transaction: the report's figures as computed
then, and every resident counted with the steps they had reached by the week's end, so a change
from the previous approved week can be opened to its participants, and a correction made after
an approval shows as a revision on the next version instead of rewriting the approved one.
"""
import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core import audit
from ..core.scoping import KECAMATAN, Scope
from ..core.timeutil import today_wib, utcnow
from ..extensions import db
from ..participants.models import Participant, ParticipantStep
from ..regions.models import Kelurahan
from .figures import Area, Figures, Region, RegionTree, WeeklyReport, monday_of, weekly_report
from .models import WEEK_STATES, WeeklyReportFile, WeeklySnapshot, WeeklySubmission

# The states each action may start from.
ALLOWED = {
    "submit": ("open", "draft", "returned"),
    "freeze": ("open",),
    "approve": ("submitted", "draft"),
    "return": ("submitted", "draft"),
}
# Monday morning WIB: a week nobody submitted is frozen as a draft from this hour on.
AUTO_FREEZE_HOUR = 6


class SubmissionError(Exception):
    """An action refused, with the Indonesian message for the screen."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def kecamatan_scope(kecamatan_id: int) -> Scope:
    """The reach the frozen figures are computed with: the kecamatan's own, whoever acts, so a
    version never depends on who submitted it."""
    return Scope(level=KECAMATAN, role="staff", kecamatan_id=kecamatan_id, kecamatan_ids=frozenset([kecamatan_id]))


def kecamatan_area(kecamatan_id: int, scope: Scope | None = None) -> Area:
    tree = RegionTree()
    return Area(tree.kecamatan[kecamatan_id], tree, scope or kecamatan_scope(kecamatan_id))


def week_has_ended(monday: date, today: date | None = None) -> bool:
    return monday + timedelta(days=7) <= (today or today_wib())


# --- Who stands behind the figures ------------------------------------------------------------

def members_through(kecamatan_id: int, day: date) -> list[list[int]]:
    """Every participant living in the kecamatan with a step dated on or before ``day``:
    ``[participant id, kelurahan id, steps reached, steps dated in the week ending on day, steps
    dated in the week before]`` (steps as bit masks), by id. Counted the way the figures count (by
    domicile, each step row once), so each step's members add up to its figure."""
    kelurahan = select(Kelurahan.id).where(Kelurahan.kecamatan_id == kecamatan_id)
    week_start, prev_start = day - timedelta(days=6), day - timedelta(days=13)
    rows = db.session.execute(
        select(ParticipantStep.participant_id, Participant.kelurahan_id, ParticipantStep.step,
               ParticipantStep.completed_on)
        .join(Participant, Participant.id == ParticipantStep.participant_id)
        .where(Participant.kelurahan_id.in_(kelurahan), ParticipantStep.completed_on <= day))
    people: dict[int, list[int]] = {}
    for participant_id, kelurahan_id, step, completed_on in rows:
        person = people.setdefault(participant_id, [participant_id, kelurahan_id, 0, 0, 0])
        bit = 1 << (step - 1)
        person[REACHED] |= bit
        if completed_on >= week_start:
            person[IN_WEEK] |= bit
        elif completed_on >= prev_start:
            person[IN_PREVIOUS_WEEK] |= bit
    return [people[k] for k in sorted(people)]


# Positions in a member: which mask a list reads.
REACHED, IN_WEEK, IN_PREVIOUS_WEEK = 2, 3, 4


def pack(members: list[list[int]]) -> bytes:
    return zlib.compress(json.dumps(members, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes | None) -> list[list[int]]:
    return json.loads(zlib.decompress(blob)) if blob else []


def with_step(members: list[list[int]], step: int, kelurahan_id: int | None = None, which: int = REACHED) -> set[int]:
    bit = 1 << (step - 1)
    return {m[0] for m in members if m[which] & bit and (kelurahan_id is None or m[1] == kelurahan_id)}


def step_counts(members: list[list[int]], which: int = REACHED) -> list[int]:
    return [sum(1 for m in members if m[which] & (1 << i)) for i in range(7)]


# --- Figures to JSON and back ------------------------------------------------------------------

def _figures_dict(f: Figures) -> dict:
    r = f.region
    return {"region": [r.level, r.id, r.code, r.name, r.parent_id], "steps": f.steps, "new": f.new, "prev": f.prev,
            "out_of_order": f.out_of_order, "p4_year": f.p4_year, "target": f.target, "no_phone": f.no_phone,
            "duplicates": f.duplicates, "target_sum": f.target_sum, "variants": f.variants}


def _figures_from(d: dict) -> Figures:
    level, ident, code, name, parent = d["region"]
    return Figures(Region(level, ident, code, name, parent), steps=d["steps"], new=d["new"], prev=d["prev"],
                   out_of_order=d["out_of_order"], p4_year=d["p4_year"], target=d["target"],
                   no_phone=d["no_phone"], duplicates=d["duplicates"], target_sum=d["target_sum"],
                   variants=d["variants"])


@dataclass
class Frozen:
    """A version's figures as stored: the report, and its comparison with the approved week before."""

    report: WeeklyReport
    previous_monday: date | None
    previous_steps: list[int] | None  # the approved week's totals, as approved
    revised_steps: list[int] | None  # the same week's totals when this version was frozen

    @property
    def change(self) -> list[int] | None:
        """Totals against the previous approved week (revision included)."""
        if self.previous_steps is None:
            return None
        return [a - b for a, b in zip(self.report.total.steps, self.previous_steps)]

    @property
    def revision(self) -> list[int] | None:
        if self.previous_steps is None:
            return None
        return [a - b for a, b in zip(self.revised_steps, self.previous_steps)]


def frozen(snapshot: WeeklySnapshot, scope: Scope) -> Frozen:
    data = json.loads(snapshot.figures)
    area = kecamatan_area(snapshot.kecamatan_id, scope)
    report = WeeklyReport(area=area, monday=snapshot.monday, total=_figures_from(data["total"]),
                          levels={level: [_figures_from(f) for f in rows] for level, rows in data["levels"].items()})
    previous = data.get("previous")
    return Frozen(report=report,
                  previous_monday=date.fromisoformat(previous["monday"]) if previous else None,
                  previous_steps=previous["steps"] if previous else None,
                  revised_steps=previous["revised_steps"] if previous else None)


# --- Actions -----------------------------------------------------------------------------------

def _insert():
    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _move(kecamatan_id: int, monday: date, action: str, state: str) -> tuple[int, int] | None:
    """Move the week to ``state`` if it is in a state ``action`` may start from: (id, version), or
    None when another request moved it first (or it never could)."""
    db.session.execute(_insert()(WeeklySubmission)
                       .values(kecamatan_id=kecamatan_id, monday=monday, state="open", version=0)
                       .on_conflict_do_nothing(index_elements=["kecamatan_id", "monday"]))
    bump = 1 if action in ("submit", "freeze") else 0
    row = db.session.execute(
        update(WeeklySubmission)
        .where(WeeklySubmission.kecamatan_id == kecamatan_id, WeeklySubmission.monday == monday,
               WeeklySubmission.state.in_(ALLOWED[action]))
        .values(state=state, version=WeeklySubmission.version + bump)
        .returning(WeeklySubmission.id, WeeklySubmission.version)
        .execution_options(synchronize_session=False)).first()
    return tuple(row) if row else None


def current_state(kecamatan_id: int, monday: date) -> str:
    state = db.session.scalar(select(WeeklySubmission.state).where(
        WeeklySubmission.kecamatan_id == kecamatan_id, WeeklySubmission.monday == monday))
    return state or "open"


REFUSALS = {
    "approved": "Laporan minggu ini sudah disetujui dan tidak dapat diajukan atau diubah lagi.",
    "submitted": "Laporan minggu ini sudah diajukan dan menunggu keputusan Sudin.",
    "returned": "Laporan minggu ini sudah dikembalikan ke kecamatan; tunggu pengajuan ulang.",
    "draft": "Laporan minggu ini sudah dibekukan otomatis; kecamatan masih dapat mengajukannya.",
    "open": "Laporan minggu ini belum diajukan.",
}


def previous_approved(kecamatan_id: int, monday: date) -> WeeklySnapshot | None:
    return db.session.scalars(
        select(WeeklySnapshot).where(WeeklySnapshot.kecamatan_id == kecamatan_id, WeeklySnapshot.outcome == "approved",
                                     WeeklySnapshot.monday < monday)
        .order_by(WeeklySnapshot.monday.desc(), WeeklySnapshot.version.desc()).limit(1)).first()


def freeze(kecamatan_id: int, monday: date, user_id: int | None, *, automatic: bool = False) -> WeeklySnapshot:
    """Submit the week (or, ``automatic``, freeze it as a draft): the new version with its figures,
    in the caller's transaction. Raises :class:`SubmissionError` when the week cannot be submitted."""
    monday = monday_of(monday)
    if not week_has_ended(monday):
        raise SubmissionError(f"Minggu ini belum berakhir; laporannya dapat diajukan mulai "
                              f"{(monday + timedelta(days=7)).strftime('%d-%m-%Y')}.")
    moved = _move(kecamatan_id, monday, "freeze" if automatic else "submit", "draft" if automatic else "submitted")
    if moved is None:
        raise SubmissionError(REFUSALS[current_state(kecamatan_id, monday)])
    submission_id, version = moved
    sunday = monday + timedelta(days=6)
    report = weekly_report(kecamatan_area(kecamatan_id), monday)
    members = members_through(kecamatan_id, sunday)
    data = {"monday": monday.isoformat(), "total": _figures_dict(report.total),
            "levels": {level: [_figures_dict(f) for f in rows] for level, rows in report.levels.items()},
            "previous": None}
    previous = previous_approved(kecamatan_id, monday)
    revised = None
    if previous is not None:
        revised = members_through(kecamatan_id, previous.monday + timedelta(days=6))
        approved_steps = json.loads(previous.figures)["total"]["steps"]
        data["previous"] = {"monday": previous.monday.isoformat(), "snapshot_id": previous.id,
                            "steps": approved_steps, "revised_steps": step_counts(revised)}
    snapshot = WeeklySnapshot(submission_id=submission_id, kecamatan_id=kecamatan_id, monday=monday, version=version,
                              automatic=automatic, frozen_at=utcnow(), frozen_by_id=user_id,
                              previous_id=previous.id if previous else None, figures=json.dumps(data),
                              members=pack(members), revised_members=pack(revised) if revised is not None else None)
    db.session.add(snapshot)
    db.session.flush()
    kind = "dibekukan otomatis" if automatic else "diajukan"
    audit.record("weekly_report.auto_freeze" if automatic else "weekly_report.submit", snapshot,
                 changes={}, summary=f"Rekap mingguan {monday.strftime('%d-%m-%Y')} {kind} (versi {version})",
                 user_id=user_id)
    return snapshot


def decide(submission: WeeklySubmission, user_id: int, approve: bool, note: str = "") -> WeeklySnapshot:
    """Approve the week's current version, or return it with ``note``; exactly once."""
    note = (note or "").strip()
    if not approve and not note:
        raise SubmissionError("Tuliskan catatan untuk kecamatan: apa yang harus diperbaiki.")
    moved = _move(submission.kecamatan_id, submission.monday, "approve" if approve else "return",
                  "approved" if approve else "returned")
    if moved is None:
        db.session.refresh(submission)
        raise SubmissionError(DECIDED.get(submission.state, REFUSALS[submission.state]))
    submission_id, version = moved
    snapshot = db.session.scalars(select(WeeklySnapshot).where(
        WeeklySnapshot.submission_id == submission_id, WeeklySnapshot.version == version)).one()
    snapshot.outcome = "approved" if approve else "returned"
    snapshot.reviewed_at = utcnow()
    snapshot.reviewed_by_id = user_id
    snapshot.note = note or None
    audit.record("weekly_report.approve" if approve else "weekly_report.return", snapshot, changes={},
                 summary=(f"Rekap mingguan {submission.monday.strftime('%d-%m-%Y')} versi {version} "
                          + ("disetujui" if approve else f"dikembalikan: {note[:200]}")))
    return snapshot


DECIDED = {
    "approved": "Laporan ini sudah disetujui.",
    "returned": "Laporan ini sudah dikembalikan ke kecamatan.",
    "open": "Laporan minggu ini belum diajukan.",
}


def freeze_overdue(now: datetime | None = None) -> int:
    """The Monday job: every kecamatan that has not submitted the week that just ended gets its
    figures frozen as a draft (one transaction per kecamatan). Returns how many were frozen."""
    from ..regions.models import Kecamatan
    from ..core.timeutil import to_wib

    now_wib = to_wib(now or utcnow())
    monday = monday_of(now_wib.date()) - timedelta(days=7)
    if now_wib.weekday() == 0 and now_wib.hour < AUTO_FREEZE_HOUR:
        return 0
    done = set(db.session.scalars(select(WeeklySubmission.kecamatan_id).where(
        WeeklySubmission.monday == monday, WeeklySubmission.state != "open")))
    frozen_count = 0
    for kecamatan_id in db.session.scalars(select(Kecamatan.id).order_by(Kecamatan.id)).all():
        if kecamatan_id in done:
            continue
        try:
            freeze(kecamatan_id, monday, None, automatic=True)
            db.session.commit()
            frozen_count += 1
        except SubmissionError:
            db.session.rollback()  # submitted meanwhile
    return frozen_count


# --- The approved files ------------------------------------------------------------------------

FILE_FORMATS = ("pdf", "xlsx", "csv")


def build_files(snapshot_id: int) -> None:
    """Render the approved version's PDF, XLSX and CSV from its frozen figures and keep them; a
    file already kept stays as it is. Called after the approval committed (never under its lock)."""
    from .files import render_frozen

    snapshot = db.session.get(WeeklySnapshot, snapshot_id)
    if snapshot is None or snapshot.outcome != "approved":
        return
    have = set(db.session.scalars(select(WeeklyReportFile.fmt).where(WeeklyReportFile.snapshot_id == snapshot_id)))
    contents = {fmt: render_frozen(snapshot, fmt) for fmt in FILE_FORMATS if fmt not in have}
    db.session.rollback()
    for fmt, content in contents.items():
        db.session.execute(_insert()(WeeklyReportFile).values(
            snapshot_id=snapshot_id, fmt=fmt, kecamatan_id=snapshot.kecamatan_id, content=content,
            sha256=hashlib.sha256(content).hexdigest()).on_conflict_do_nothing(index_elements=["snapshot_id", "fmt"]))
    db.session.commit()


def state_label(state: str) -> str:
    return WEEK_STATES.get(state, state)
