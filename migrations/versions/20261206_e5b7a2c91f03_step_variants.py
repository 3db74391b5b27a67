"""Step variants: participant_step.variant (P1 channel, P4 licence kind) and step_variant_tally kept by triggers

Revision ID: e5b7a2c91f03
Revises: d81b6c2f4e90
Create Date: 2026-12-06 23:45:00

The dashboard and the weekly report break P1 down by channel and P4 by licence kind. The kind of
a step is written on its row (``variant``) when the step is recorded; triggers on participant_step
and participant keep ``step_variant_tally`` (participants per kelurahan, step, variant and period)
exact, as the other tallies are kept. Existing rows get their variant from the participant's
channel and the licence that completed P4, and are counted once here.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b7a2c91f03'
down_revision = 'd81b6c2f4e90'
branch_labels = None
depends_on = None


def _sqlite_bucket(column):
    """The tally period of a date (as in the 'dashboard tallies' migration)."""
    return (f"max(date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days'), "
            f"strftime('%Y-01-01', {column}))")


def _sqlite_add(new):
    return f"""
  INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
  SELECT p.kelurahan_id, k.kecamatan_id, {new}.step, {new}.variant, {_sqlite_bucket(new + '.completed_on')}, 1
  FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id
  WHERE p.id = {new}.participant_id AND {new}.variant IS NOT NULL
  ON CONFLICT (kelurahan_id, step, variant, period_start) DO UPDATE SET n = n + 1;"""


def _sqlite_remove(old):
    return f"""
  UPDATE step_variant_tally SET n = n - 1
  WHERE {old}.variant IS NOT NULL AND step = {old}.step AND variant = {old}.variant
    AND period_start = {_sqlite_bucket(old + '.completed_on')}
    AND kelurahan_id = (SELECT kelurahan_id FROM participant WHERE id = {old}.participant_id);"""


SQLITE_TRIGGERS = {
    "variant_tally_step_insert": f"AFTER INSERT ON participant_step BEGIN {_sqlite_add('NEW')}\nEND",
    "variant_tally_step_delete": f"AFTER DELETE ON participant_step BEGIN {_sqlite_remove('OLD')}\nEND",
    "variant_tally_step_update": (
        "AFTER UPDATE OF participant_id, step, completed_on, variant ON participant_step BEGIN "
        f"{_sqlite_remove('OLD')}{_sqlite_add('NEW')}\nEND"),
    "variant_tally_participant_move": f"""AFTER UPDATE OF kelurahan_id ON participant
WHEN OLD.kelurahan_id <> NEW.kelurahan_id BEGIN
  UPDATE step_variant_tally SET n = n - 1
  WHERE kelurahan_id = OLD.kelurahan_id AND EXISTS (
      SELECT 1 FROM participant_step s WHERE s.participant_id = NEW.id AND s.step = step_variant_tally.step
      AND s.variant = step_variant_tally.variant
      AND {_sqlite_bucket('s.completed_on')} = step_variant_tally.period_start);
  INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
  SELECT NEW.kelurahan_id, k.kecamatan_id, s.step, s.variant, {_sqlite_bucket('s.completed_on')}, 1
  FROM participant_step s JOIN kelurahan k ON k.id = NEW.kelurahan_id
  WHERE s.participant_id = NEW.id AND s.variant IS NOT NULL
  ON CONFLICT (kelurahan_id, step, variant, period_start) DO UPDATE SET n = n + 1;
END""",
}

PG_FUNCTIONS = [
    """CREATE FUNCTION variant_tally_change(p_participant integer, p_step integer, p_variant varchar, p_on date,
                                      p_sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_variant IS NULL THEN
    RETURN;
  END IF;
  IF p_sign > 0 THEN
    INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
    SELECT p.kelurahan_id, k.kecamatan_id, p_step, p_variant, tally_period(p_on), 1
    FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id WHERE p.id = p_participant
    ON CONFLICT (kelurahan_id, step, variant, period_start) DO UPDATE SET n = step_variant_tally.n + 1;
  ELSE
    UPDATE step_variant_tally SET n = n - 1
    WHERE step = p_step AND variant = p_variant AND period_start = tally_period(p_on)
      AND kelurahan_id = (SELECT kelurahan_id FROM participant WHERE id = p_participant);
  END IF;
END $$""",
    """CREATE FUNCTION variant_tally_step_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM variant_tally_change(OLD.participant_id, OLD.step, OLD.variant, OLD.completed_on, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM variant_tally_change(NEW.participant_id, NEW.step, NEW.variant, NEW.completed_on, 1);
  END IF;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION variant_tally_participant_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE step_variant_tally t SET n = t.n - 1
  FROM participant_step s
  WHERE s.participant_id = NEW.id AND s.variant IS NOT NULL AND t.kelurahan_id = OLD.kelurahan_id
    AND t.step = s.step AND t.variant = s.variant AND t.period_start = tally_period(s.completed_on);
  INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
  SELECT NEW.kelurahan_id, k.kecamatan_id, s.step, s.variant, tally_period(s.completed_on), 1
  FROM participant_step s JOIN kelurahan k ON k.id = NEW.kelurahan_id
  WHERE s.participant_id = NEW.id AND s.variant IS NOT NULL
  ON CONFLICT (kelurahan_id, step, variant, period_start) DO UPDATE SET n = step_variant_tally.n + 1;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER variant_tally_step AFTER INSERT OR DELETE OR UPDATE OF participant_id, step, completed_on, variant
ON participant_step FOR EACH ROW EXECUTE FUNCTION variant_tally_step_trigger()""",
    """CREATE TRIGGER variant_tally_participant AFTER UPDATE OF kelurahan_id ON participant
FOR EACH ROW WHEN (OLD.kelurahan_id IS DISTINCT FROM NEW.kelurahan_id)
EXECUTE FUNCTION variant_tally_participant_trigger()""",
]


def upgrade():
    op.add_column('participant_step', sa.Column('variant', sa.String(length=10), nullable=True))
    op.create_index('ix_participant_step_completed_step', 'participant_step', ['completed_on', 'step'])
    op.create_table('step_variant_tally',
    sa.Column('kelurahan_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.SmallInteger(), nullable=False),
    sa.Column('variant', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_step_variant_tally_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['kelurahan_id'], ['kelurahan.id'], name=op.f('fk_step_variant_tally_kelurahan_id_kelurahan')),
    sa.PrimaryKeyConstraint('kelurahan_id', 'step', 'variant', 'period_start', name=op.f('pk_step_variant_tally'))
    )
    op.create_index('ix_step_variant_tally_kecamatan_step_period', 'step_variant_tally',
                    ['kecamatan_id', 'step', 'period_start'])
    op.create_index('ix_step_variant_tally_step_period', 'step_variant_tally', ['step', 'period_start'])
    # The existing tally triggers fire on other columns only, so these updates leave them alone.
    op.execute("""UPDATE participant_step SET variant = (
        SELECT p.channel FROM participant p WHERE p.id = participant_step.participant_id) WHERE step = 1""")
    op.execute("""UPDATE participant_step SET variant = (
        SELECT l.kind FROM license l WHERE l.id = participant_step.source_id)
        WHERE step = 4 AND source = 'license'""")
    postgres = op.get_bind().dialect.name == "postgresql"
    period = "tally_period(s.completed_on)" if postgres else _sqlite_bucket("s.completed_on")
    op.execute(f"""INSERT INTO step_variant_tally (kelurahan_id, kecamatan_id, step, variant, period_start, n)
        SELECT p.kelurahan_id, k.kecamatan_id, s.step, s.variant, {period}, count(*)
        FROM participant_step s JOIN participant p ON p.id = s.participant_id JOIN kelurahan k ON k.id = p.kelurahan_id
        WHERE s.variant IS NOT NULL
        GROUP BY p.kelurahan_id, k.kecamatan_id, s.step, s.variant, {period}""")
    if postgres:
        for statement in PG_FUNCTIONS:
            op.execute(statement)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER variant_tally_participant ON participant")
        op.execute("DROP TRIGGER variant_tally_step ON participant_step")
        for name in ("variant_tally_participant_trigger()", "variant_tally_step_trigger()",
                     "variant_tally_change(integer, integer, varchar, date, integer)"):
            op.execute(f"DROP FUNCTION {name}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index('ix_step_variant_tally_step_period', table_name='step_variant_tally')
    op.drop_index('ix_step_variant_tally_kecamatan_step_period', table_name='step_variant_tally')
    op.drop_table('step_variant_tally')
    op.drop_index('ix_participant_step_completed_step', table_name='participant_step')
    op.drop_column('participant_step', 'variant')
