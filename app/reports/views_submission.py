"""Screens of the weekly report's submission and approval: the kecamatan's panel, a frozen version,
the Sudin's decision, the board of the kota or the province, the approved files and the
participants behind a frozen figure."""
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.access import ADMIN, MANAGER, STAFF, roles_required
from ..core.db import reads_from_now
from ..core.formatting import angka
from ..core.pdf import pdf_response
from ..core.scoping import KECAMATAN, KOTA, current_scope, get_or_404, scoped
from ..core.timeutil import date_in_range, parse_date
from ..extensions import db
from ..participants.models import Participant
from ..participants.steps import STEPS
from ..regions.models import Kecamatan
from . import bp
from .exports import XLSX_MIME
from .figures import LEVEL_LABELS, VARIANTS, RegionTree, area_for, monday_of, weekly_report
from .files import filename
from .weeks import WeekForm, chosen_week
from .models import WEEK_STATES, WeeklyReportFile, WeeklySnapshot, WeeklySubmission
from .submissions import (IN_PREVIOUS_WEEK, IN_WEEK, REACHED, SubmissionError, build_files, decide, freeze,
                          frozen, unpack, week_has_ended, with_step)

REPORT_ROLES = (ADMIN, MANAGER, STAFF)
MEMBER_PAGE = 50


def may_submit(kecamatan_id: int) -> bool:
    """Staff and managers of the kecamatan itself submit its week."""
    return (current_user.role in (STAFF, MANAGER) and current_user.scope_level == KECAMATAN
            and current_user.kecamatan_id == kecamatan_id)


def may_decide(kecamatan_id: int) -> bool:
    """The Sudin: a manager of the kota that holds the kecamatan."""
    return (current_user.role == MANAGER and current_user.scope_level == KOTA
            and current_scope().covers_kecamatan(kecamatan_id))


def versions_of(kecamatan_id: int, monday: date) -> list[WeeklySnapshot]:
    stmt = (select(WeeklySnapshot).where(WeeklySnapshot.kecamatan_id == kecamatan_id, WeeklySnapshot.monday == monday)
            .options(joinedload(WeeklySnapshot.frozen_by), joinedload(WeeklySnapshot.reviewed_by))
            .order_by(WeeklySnapshot.version.desc()))
    return list(db.session.scalars(scoped(stmt, WeeklySnapshot)))


def submission_panel(kecamatan_id: int, monday: date) -> dict:
    """What the kecamatan's weekly page shows about the week's submission."""
    submission = db.session.scalars(scoped(select(WeeklySubmission).where(
        WeeklySubmission.kecamatan_id == kecamatan_id, WeeklySubmission.monday == monday), WeeklySubmission)).first()
    state = submission.state if submission else "open"
    return {"state": state, "state_label": WEEK_STATES[state], "versions": versions_of(kecamatan_id, monday),
            "ended": week_has_ended(monday), "may_submit": may_submit(kecamatan_id) and state in ("open", "draft", "returned"),
            "next_day": monday + timedelta(days=7)}


@bp.post("/laporan/mingguan/kecamatan/<int:kecamatan_id>/ajukan")
@roles_required(STAFF, MANAGER)
def submit_week(kecamatan_id: int):
    kecamatan = get_or_404(Kecamatan, kecamatan_id)
    day = parse_date(request.form.get("minggu"))
    if day is None or not date_in_range(day):
        abort(400)
    monday = monday_of(day)
    back = url_for("reports.weekly_kecamatan", kecamatan_id=kecamatan.id, minggu=monday.isoformat())
    if not may_submit(kecamatan.id):
        abort(403)
    try:
        snapshot = freeze(kecamatan.id, monday, current_user.id)
    except SubmissionError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(f"Rekap mingguan diajukan ke Sudin (versi {snapshot.version}); angkanya kini dibekukan.", "success")
    return redirect(url_for("reports.version_page", snapshot_id=snapshot.id))


@bp.get("/laporan/mingguan/versi/<int:snapshot_id>")
@roles_required(*REPORT_ROLES)
def version_page(snapshot_id: int):
    snapshot = get_or_404(WeeklySnapshot, snapshot_id)
    submission = db.session.get(WeeklySubmission, snapshot.submission_id)
    view = frozen(snapshot, current_scope())
    latest = snapshot.version == submission.version
    files = set(db.session.scalars(select(WeeklyReportFile.fmt).where(WeeklyReportFile.snapshot_id == snapshot.id)))
    movement = _movement(snapshot)
    return render_template("reports/version.html", snapshot=snapshot, submission=submission, view=view, **movement,
                           report=view.report, area=view.report.area, steps=STEPS, variants=VARIANTS,
                           level_labels=LEVEL_LABELS, figure_links=True, figure_link=frozen_linker(snapshot),
                           link=None, files=files,
                           decide=latest and snapshot.outcome == "pending" and may_decide(snapshot.kecamatan_id),
                           versions=versions_of(snapshot.kecamatan_id, snapshot.monday))


def frozen_linker(snapshot: WeeklySnapshot):
    """The weekly tables' ``figure_link`` for a frozen version: a figure of steps (to the week's end, in
    the week, in the week before; the kecamatan or a kelurahan) links to the version's own list of
    those participants. The figures the version keeps no names for (channels and licence kinds, P4 of
    the year, data quality) are shown as frozen numbers, marked as such."""
    monday = snapshot.monday

    def link(n: int, region, step: int | None = None, capai_dari=None, capai_sampai=None, **other) -> Markup:
        kind = {None: "total", monday: "baru", monday - timedelta(days=7): "sebelumnya"}.get(capai_dari)
        if step is None or other or kind is None:
            return Markup(f'<span class="frozen" title="Angka beku; rincian peserta tidak disimpan">{escape(angka(n))}</span>')
        args = {"snapshot_id": snapshot.id, "langkah": step, "jenis": kind}
        if region.level == "kelurahan":
            args["kelurahan"] = region.id
        href = url_for("reports.version_members", **args)
        return Markup(f'<a class="figure" href="{escape(href)}" data-count="{int(n)}">{escape(angka(n))}</a>')

    return link


def _movement(snapshot: WeeklySnapshot) -> dict:
    """Per step, how many participants the version gained and lost against the previous approved
    week, and the revision of that week (gained/lost since its approval); zeros without one."""
    zero = [0] * 7
    if snapshot.previous is None:
        return {"added": zero, "removed": zero, "revision_added": zero, "revision_removed": zero}
    before, now, revised = unpack(snapshot.previous.members), unpack(snapshot.members), unpack(snapshot.revised_members)
    out = {"added": [], "removed": [], "revision_added": [], "revision_removed": []}
    for step in range(1, 8):
        a, b, r = with_step(before, step), with_step(now, step), with_step(revised, step)
        out["added"].append(len(b - a))
        out["removed"].append(len(a - b))
        out["revision_added"].append(len(r - a))
        out["revision_removed"].append(len(a - r))
    return out


@bp.post("/laporan/mingguan/versi/<int:snapshot_id>/keputusan")
@roles_required(MANAGER)
def decide_version(snapshot_id: int):
    snapshot = get_or_404(WeeklySnapshot, snapshot_id)
    if not may_decide(snapshot.kecamatan_id):
        abort(403)
    choice = request.form.get("keputusan")
    if choice not in ("setujui", "kembalikan"):
        abort(400)
    submission = db.session.get(WeeklySubmission, snapshot.submission_id)
    if submission.version != snapshot.version:
        flash("Versi ini sudah digantikan versi yang lebih baru; putuskan versi terbaru.", "error")
        return redirect(url_for("reports.version_page", snapshot_id=snapshot.id))
    note = request.form.get("catatan", "")[:2000]
    try:
        decided = decide(submission, current_user.id, choice == "setujui", note)
    except SubmissionError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("reports.version_page", snapshot_id=snapshot.id))
    db.session.commit()
    if decided.outcome == "approved":
        reads_from_now()  # the files are built after the approval committed, without the write lock
        build_files(decided.id)
        flash("Rekap mingguan disetujui. Berkas PDF, XLSX dan CSV versi ini disimpan apa adanya.", "success")
    else:
        flash("Rekap mingguan dikembalikan ke kecamatan dengan catatan.", "success")
    return redirect(url_for("reports.version_page", snapshot_id=decided.id))


@bp.get("/laporan/mingguan/versi/<int:snapshot_id>/berkas.<fmt>")
@roles_required(*REPORT_ROLES)
def version_file(snapshot_id: int, fmt: str):
    snapshot = get_or_404(WeeklySnapshot, snapshot_id)
    stored = db.session.scalars(scoped(select(WeeklyReportFile).where(
        WeeklyReportFile.snapshot_id == snapshot.id, WeeklyReportFile.fmt == fmt), WeeklyReportFile)).first()
    if stored is None:
        abort(404)
    report = frozen(snapshot, current_scope()).report
    name = filename(report, fmt, snapshot.version)
    content = stored.content
    audit.record("export.weekly_report_approved", snapshot, changes={},
                 summary=f"Rekap mingguan disetujui {report.area.region.name}, minggu {snapshot.monday.isoformat()} "
                         f"versi {snapshot.version} ({fmt.upper()})")
    db.session.commit()
    if fmt == "pdf":
        return pdf_response(content, name)
    from flask import Response

    mime = XLSX_MIME if fmt == "xlsx" else "text/csv"
    response = Response(content, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- The participants behind a frozen figure ---------------------------------------------------

MEMBER_KINDS = {
    "total": "dihitung pada langkah ini s.d. akhir minggu",
    "baru": "mencapai langkah ini pada minggu laporan",
    "sebelumnya": "mencapai langkah ini pada minggu sebelumnya",
    "tambah": "bertambah dibanding minggu disetujui sebelumnya",
    "kurang": "berkurang dibanding minggu disetujui sebelumnya",
    "revisi_tambah": "ditambahkan ke minggu disetujui sebelumnya setelah disetujui (revisi)",
    "revisi_kurang": "dikeluarkan dari minggu disetujui sebelumnya setelah disetujui (revisi)",
}


def member_ids(snapshot: WeeklySnapshot, kind: str, step: int, kelurahan_id: int | None) -> list[int]:
    """The participants behind one figure of a frozen version, by id."""
    now = unpack(snapshot.members)
    if kind in ("total", "baru", "sebelumnya"):
        which = {"total": REACHED, "baru": IN_WEEK, "sebelumnya": IN_PREVIOUS_WEEK}[kind]
        return sorted(with_step(now, step, kelurahan_id, which))
    previous = unpack(snapshot.previous.members) if snapshot.previous is not None else None
    if previous is None:
        return []
    if kind in ("tambah", "kurang"):
        a, b = with_step(previous, step, kelurahan_id), with_step(now, step, kelurahan_id)
    else:
        a, b = with_step(previous, step, kelurahan_id), with_step(unpack(snapshot.revised_members), step, kelurahan_id)
    return sorted(b - a if kind.endswith("tambah") else a - b)


@dataclass
class MemberPage:
    """A page of participants given by id: ``total`` is exactly the figure."""

    ids: list[int]
    number: int
    size: int = MEMBER_PAGE
    items: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ids)

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
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.size, self.total)


def member_page(ids: list[int], number) -> MemberPage:
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    page = MemberPage(ids=ids, number=number)
    page.number = min(page.number, page.pages)
    chunk = ids[(page.number - 1) * page.size: page.number * page.size]
    if chunk:
        found = {p.id: p for p in db.session.scalars(scoped(
            select(Participant).where(Participant.id.in_(chunk)).options(joinedload(Participant.kelurahan)),
            Participant))}
        page.items = [found.get(i) for i in chunk]  # None: no longer visible (shown as such, still counted)
    return page


def _step_arg() -> int:
    step = request.args.get("langkah", type=int)
    if step not in range(1, 8):
        abort(404)
    return step


@bp.get("/laporan/mingguan/versi/<int:snapshot_id>/peserta")
@roles_required(*REPORT_ROLES)
def version_members(snapshot_id: int):
    snapshot = get_or_404(WeeklySnapshot, snapshot_id)
    step = _step_arg()
    kind = request.args.get("jenis", "total")
    if kind not in MEMBER_KINDS:
        abort(404)
    kelurahan_id = request.args.get("kelurahan", type=int)
    page = member_page(member_ids(snapshot, kind, step, kelurahan_id), request.args.get("hal", 1))
    args = {"snapshot_id": snapshot.id, "langkah": step, "jenis": kind}
    if kelurahan_id:
        args["kelurahan"] = kelurahan_id
    tree = RegionTree()
    return render_template("reports/members.html", snapshot=snapshot, page=page, step=STEPS[step - 1],
                           kind_label=MEMBER_KINDS[kind], args=args, endpoint="reports.version_members",
                           region=tree.kelurahan[kelurahan_id].name if kelurahan_id in tree.kelurahan
                           else tree.kecamatan[snapshot.kecamatan_id].name)


# --- The board of a kota or the province -----------------------------------------------------

BOARD_STATES = ["approved", "submitted", "draft", "returned", "open"]


def _board_week(form: WeekForm) -> date | None:
    """The chosen week's Monday (default: last week), or None with the error on the form's field."""
    return chosen_week(form)


@bp.get("/laporan/persetujuan")
@roles_required(*REPORT_ROLES)
def board():
    scope = current_scope()
    form = WeekForm(request.args)
    monday = _board_week(form)
    if monday is None:
        return render_template("reports/board.html", form=form, monday=None), 400
    tree = RegionTree()
    kecamatan = [k for k in sorted(tree.kecamatan.values(), key=lambda r: r.code) if scope.covers_kecamatan(k.id)]
    states = dict(db.session.execute(scoped(select(WeeklySubmission.kecamatan_id, WeeklySubmission.state).where(
        WeeklySubmission.monday == monday), WeeklySubmission)).all())
    latest = {s.kecamatan_id: s for s in db.session.scalars(scoped(select(WeeklySnapshot).where(
        WeeklySnapshot.monday == monday).order_by(WeeklySnapshot.version), WeeklySnapshot))}
    rows = [{"region": k, "kota": tree.kota[k.parent_id], "state": states.get(k.id, "open"),
             "snapshot": latest.get(k.id)} for k in kecamatan]
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in BOARD_STATES}
    chosen = request.args.get("status")
    shown = [r for r in rows if r["state"] == chosen] if chosen in BOARD_STATES else rows
    approved = [json.loads(r["snapshot"].figures)["total"] for r in rows
                if r["state"] == "approved" and r["snapshot"] is not None]
    compiled = [sum(f["steps"][i] for f in approved) for i in range(7)]
    live = None
    if scope.level in ("province", KOTA) and rows:
        area = area_for(scope)
        live = weekly_report(area, monday).total
    return render_template("reports/board.html", form=form, monday=monday, sunday=monday + timedelta(days=6), rows=shown,
                           counts=counts, states=WEEK_STATES, board_states=BOARD_STATES, chosen=chosen,
                           all_count=len(rows), compiled=compiled,
                           approved_count=len(approved), live=live, steps=STEPS,
                           area=area_for(scope) if scope.level in ("province", KOTA) else None)


@bp.get("/laporan/persetujuan/peserta")
@roles_required(*REPORT_ROLES)
def board_members():
    """The participants behind a compiled figure: the approved versions' residents at the step."""
    monday = _board_week(WeekForm(request.args))
    if monday is None:
        abort(404)
    step = _step_arg()
    approved = db.session.scalars(scoped(select(WeeklySnapshot).where(
        WeeklySnapshot.monday == monday, WeeklySnapshot.outcome == "approved"), WeeklySnapshot)).all()
    ids = sorted(set().union(*(with_step(unpack(s.members), step) for s in approved)) if approved else set())
    page = member_page(ids, request.args.get("hal", 1))
    return render_template("reports/members.html", snapshot=None, page=page, step=STEPS[step - 1],
                           kind_label=f"menurut laporan yang disetujui, minggu {monday.strftime('%d-%m-%Y')}",
                           args={"minggu": monday.isoformat(), "langkah": step}, endpoint="reports.board_members",
                           region=current_user.scope_label)
