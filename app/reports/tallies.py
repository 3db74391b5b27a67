"""Checking the summary tables against the records, and rebuilding them.

The expected figures are computed here in Python from a plain count of the records, not with
the triggers' SQL, so a mistake in either shows up as a difference.
"""
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import case, delete, func, insert, select, update

from ..extensions import db
from ..participants.models import Participant, ParticipantStep
from ..regions.models import Kelurahan
from .models import ParticipantTally, QualityTally, StepTally, StepVariantTally, StepVariantYearTally


def period_of(day: date) -> date:
    """The tally period a date falls in: its week's Monday, or 1 January if that Monday is last year."""
    return max(day - timedelta(days=day.weekday()), date(day.year, 1, 1))


def expected_steps() -> dict[tuple[int, int, date], tuple[int, int]]:
    stmt = (select(Participant.kelurahan_id, ParticipantStep.step, ParticipantStep.completed_on, func.count(),
                   func.sum(case((ParticipantStep.out_of_order, 1), else_=0)))
            .join(Participant, Participant.id == ParticipantStep.participant_id)
            .group_by(Participant.kelurahan_id, ParticipantStep.step, ParticipantStep.completed_on))
    counts: Counter = Counter()
    late: Counter = Counter()
    for kelurahan_id, step, day, n, ooo in db.session.execute(stmt):
        key = (kelurahan_id, step, period_of(day))
        counts[key] += n
        late[key] += ooo or 0
    return {key: (n, late[key]) for key, n in counts.items()}


def expected_variants() -> Counter:
    """Step rows with a variant per (kelurahan, step, variant, period), from the records."""
    stmt = (select(Participant.kelurahan_id, ParticipantStep.step, ParticipantStep.variant,
                   ParticipantStep.completed_on, func.count())
            .join(Participant, Participant.id == ParticipantStep.participant_id)
            .where(ParticipantStep.variant.is_not(None))
            .group_by(Participant.kelurahan_id, ParticipantStep.step, ParticipantStep.variant,
                      ParticipantStep.completed_on))
    counts: Counter = Counter()
    for kelurahan_id, step, variant, day, n in db.session.execute(stmt):
        counts[(kelurahan_id, step, variant, period_of(day))] += n
    return counts


def expected_masks() -> dict[int, int]:
    """Each participant's steps as a bit mask, from its step rows (only participants with steps)."""
    masks: Counter = Counter()
    for participant_id, step in db.session.execute(select(ParticipantStep.participant_id, ParticipantStep.step)):
        masks[participant_id] |= 1 << (step - 1)
    return dict(masks)


def expected_quality() -> dict[int, tuple[int, int]]:
    """(without a phone, suspected duplicates) per kelurahan of domicile, among participants not
    rejected, from the records: the twins are found here by grouping in Python."""
    people = db.session.execute(select(Participant.kelurahan_id, Participant.kecamatan_id, Participant.name_key,
                                       Participant.birth_date, Participant.phone.is_(None))
                                .where(Participant.status != "rejected")).all()
    groups = Counter((kecamatan_id, name, birth) for _k, kecamatan_id, name, birth, _np in people)
    counts: dict[int, list[int]] = {}
    for kelurahan_id, kecamatan_id, name, birth, no_phone in people:
        row = counts.setdefault(kelurahan_id, [0, 0])
        row[0] += bool(no_phone)
        row[1] += groups[(kecamatan_id, name, birth)] > 1
    return {k: (a, b) for k, (a, b) in counts.items() if a or b}


def drift(limit: int = 20) -> list[str]:
    """Differences between the tallies and the records (empty when they agree)."""
    problems: list[str] = []
    steps = expected_steps()
    stored = {(t.kelurahan_id, t.step, t.period_start): (t.n, t.n_out_of_order)
              for t in db.session.scalars(select(StepTally))}
    for key in sorted(set(steps) | set(stored)):
        want, have = steps.get(key, (0, 0)), stored.get(key, (0, 0))
        if want != have:
            problems.append(f"step_tally {key}: records {want}, tally {have}")
    masks = expected_masks()
    stored_masks = dict(db.session.execute(select(Participant.id, Participant.steps_mask)
                                           .where(Participant.steps_mask != 0)).all())
    for participant_id in sorted(set(masks) | set(stored_masks)):
        want, have = masks.get(participant_id, 0), stored_masks.get(participant_id, 0)
        if want != have:
            problems.append(f"participant {participant_id}: steps_mask {have}, its steps give {want}")
    people = Counter({(k, m): n for k, m, n in db.session.execute(
        select(Participant.kelurahan_id, Participant.steps_mask, func.count())
        .group_by(Participant.kelurahan_id, Participant.steps_mask))})
    tallied = Counter({(t.kelurahan_id, t.steps_mask): t.n for t in db.session.scalars(select(ParticipantTally))})
    for key in sorted(set(people) | set(tallied)):
        if people[key] != tallied[key]:
            problems.append(f"participant_tally {key}: records {people[key]}, tally {tallied[key]}")
    variants = expected_variants()
    stored_variants = Counter({(t.kelurahan_id, t.step, t.variant, t.period_start): t.n
                               for t in db.session.scalars(select(StepVariantTally))})
    for key in sorted(set(variants) | set(stored_variants)):
        if variants[key] != stored_variants[key]:
            problems.append(f"step_variant_tally {key}: records {variants[key]}, tally {stored_variants[key]}")
    years: Counter = Counter()
    for (kelurahan_id, step, variant, period), n in variants.items():
        years[(kelurahan_id, step, variant, period.year)] += n
    stored_years = Counter({(t.kelurahan_id, t.step, t.variant, t.year): t.n
                            for t in db.session.scalars(select(StepVariantYearTally))})
    for key in sorted(set(years) | set(stored_years)):
        if years[key] != stored_years[key]:
            problems.append(f"step_variant_year_tally {key}: records {years[key]}, tally {stored_years[key]}")
    quality = expected_quality()
    stored_quality = {t.kelurahan_id: (t.n_no_phone, t.n_duplicate)
                      for t in db.session.scalars(select(QualityTally)) if t.n_no_phone or t.n_duplicate}
    for key in sorted(set(quality) | set(stored_quality)):
        if quality.get(key, (0, 0)) != stored_quality.get(key, (0, 0)):
            problems.append(f"quality_tally {key}: records {quality.get(key, (0, 0))}, "
                            f"tally {stored_quality.get(key, (0, 0))}")
    return problems[:limit] if limit else problems


def rebuild() -> None:
    """Recompute the tallies from the records (after a restore from an old dump, say)."""
    masks = expected_masks()
    db.session.execute(update(Participant).where(Participant.steps_mask != 0).values(steps_mask=0))
    by_mask: dict[int, list[int]] = {}
    for participant_id, mask in masks.items():
        by_mask.setdefault(mask, []).append(participant_id)
    for mask, ids in by_mask.items():
        for start in range(0, len(ids), 5000):
            db.session.execute(update(Participant).where(Participant.id.in_(ids[start:start + 5000]))
                               .values(steps_mask=mask))
    kecamatan_of = dict(db.session.execute(select(Kelurahan.id, Kelurahan.kecamatan_id)).all())
    db.session.execute(delete(StepTally))
    db.session.execute(delete(ParticipantTally))
    db.session.execute(delete(StepVariantTally))
    # (its triggers took the weekly rows out of the yearly ones; emptied too, in case they had drifted,
    # and the weekly rows inserted below put them back)
    db.session.execute(delete(StepVariantYearTally))
    rows = [{"kelurahan_id": k, "kecamatan_id": kecamatan_of[k], "step": s, "period_start": p, "n": n,
             "n_out_of_order": ooo} for (k, s, p), (n, ooo) in expected_steps().items()]
    if rows:
        db.session.execute(insert(StepTally), rows)
    people = [{"kelurahan_id": k, "kecamatan_id": kecamatan_of[k], "steps_mask": m, "n": n}
              for k, m, n in db.session.execute(select(Participant.kelurahan_id, Participant.steps_mask, func.count())
                                                .group_by(Participant.kelurahan_id, Participant.steps_mask))]
    if people:
        db.session.execute(insert(ParticipantTally), people)
    variants = [{"kelurahan_id": k, "kecamatan_id": kecamatan_of[k], "step": s, "variant": v, "period_start": p,
                 "n": n} for (k, s, v, p), n in expected_variants().items()]
    if variants:
        db.session.execute(insert(StepVariantTally), variants)
    db.session.execute(delete(QualityTally))
    quality = [{"kelurahan_id": k, "kecamatan_id": kecamatan_of[k], "n_no_phone": a, "n_duplicate": b}
               for k, (a, b) in expected_quality().items()]
    if quality:
        db.session.execute(insert(QualityTally), quality)
