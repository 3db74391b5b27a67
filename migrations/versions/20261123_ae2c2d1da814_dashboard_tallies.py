"""Dashboard tallies: participant.steps_mask, step_tally and participant_tally kept by triggers

Revision ID: ae2c2d1da814
Revises: 06d5302a2361
Create Date: 2026-11-23 13:45:00

The dashboard and the weekly report read two small summary tables instead of counting a
million participants. Triggers on participant_step and participant keep them exact whatever
writes the records; the existing records are counted once here.
"""
from alembic import op
import sqlalchemy as sa


revision = 'ae2c2d1da814'
down_revision = '06d5302a2361'
branch_labels = None
depends_on = None


def _sqlite_bucket(column):
    """The tally period of a date: its ISO week's Monday, or 1 January when the week began last year."""
    return (f"max(date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days'), "
            f"strftime('%Y-01-01', {column}))")


def _sqlite_step_add(new):
    return f"""
  INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
  SELECT p.kelurahan_id, k.kecamatan_id, {new}.step, {_sqlite_bucket(new + '.completed_on')}, 1, {new}.out_of_order
  FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id WHERE p.id = {new}.participant_id
  ON CONFLICT (kelurahan_id, step, period_start)
  DO UPDATE SET n = n + 1, n_out_of_order = n_out_of_order + excluded.n_out_of_order;
  UPDATE participant SET steps_mask = steps_mask | (1 << ({new}.step - 1))
  WHERE id = {new}.participant_id AND (steps_mask & (1 << ({new}.step - 1))) = 0;"""


def _sqlite_step_remove(old):
    return f"""
  UPDATE step_tally SET n = n - 1, n_out_of_order = n_out_of_order - {old}.out_of_order
  WHERE step = {old}.step AND period_start = {_sqlite_bucket(old + '.completed_on')}
    AND kelurahan_id = (SELECT kelurahan_id FROM participant WHERE id = {old}.participant_id);
  UPDATE participant SET steps_mask = steps_mask & ~(1 << ({old}.step - 1))
  WHERE id = {old}.participant_id AND (steps_mask & (1 << ({old}.step - 1))) <> 0;"""


_SQLITE_PARTICIPANT_ADD = """
  INSERT INTO participant_tally (kelurahan_id, kecamatan_id, steps_mask, n)
  SELECT NEW.kelurahan_id, k.kecamatan_id, NEW.steps_mask, 1 FROM kelurahan k WHERE k.id = NEW.kelurahan_id
  ON CONFLICT (kelurahan_id, steps_mask) DO UPDATE SET n = n + 1;"""
_SQLITE_PARTICIPANT_REMOVE = """
  UPDATE participant_tally SET n = n - 1 WHERE kelurahan_id = OLD.kelurahan_id AND steps_mask = OLD.steps_mask;"""

SQLITE_TRIGGERS = {
    "tally_step_insert": f"AFTER INSERT ON participant_step BEGIN {_sqlite_step_add('NEW')}\nEND",
    "tally_step_delete": f"AFTER DELETE ON participant_step BEGIN {_sqlite_step_remove('OLD')}\nEND",
    "tally_step_update": (
        "AFTER UPDATE OF participant_id, step, completed_on, out_of_order ON participant_step BEGIN "
        f"{_sqlite_step_remove('OLD')}{_sqlite_step_add('NEW')}\nEND"),
    "tally_participant_insert": f"AFTER INSERT ON participant BEGIN {_SQLITE_PARTICIPANT_ADD}\nEND",
    "tally_participant_delete": f"AFTER DELETE ON participant BEGIN {_SQLITE_PARTICIPANT_REMOVE}\nEND",
    "tally_participant_update": (
        "AFTER UPDATE OF kelurahan_id, steps_mask ON participant "
        "WHEN OLD.kelurahan_id <> NEW.kelurahan_id OR OLD.steps_mask <> NEW.steps_mask BEGIN "
        f"{_SQLITE_PARTICIPANT_REMOVE}{_SQLITE_PARTICIPANT_ADD}\nEND"),
    "tally_participant_move": f"""AFTER UPDATE OF kelurahan_id ON participant
WHEN OLD.kelurahan_id <> NEW.kelurahan_id BEGIN
  UPDATE step_tally SET n = n - 1, n_out_of_order = n_out_of_order - (
      SELECT s.out_of_order FROM participant_step s WHERE s.participant_id = NEW.id AND s.step = step_tally.step)
  WHERE kelurahan_id = OLD.kelurahan_id AND EXISTS (
      SELECT 1 FROM participant_step s WHERE s.participant_id = NEW.id AND s.step = step_tally.step
      AND {_sqlite_bucket('s.completed_on')} = step_tally.period_start);
  INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
  SELECT NEW.kelurahan_id, k.kecamatan_id, s.step, {_sqlite_bucket('s.completed_on')}, 1, s.out_of_order
  FROM participant_step s JOIN kelurahan k ON k.id = NEW.kelurahan_id WHERE s.participant_id = NEW.id
  ON CONFLICT (kelurahan_id, step, period_start)
  DO UPDATE SET n = n + 1, n_out_of_order = n_out_of_order + excluded.n_out_of_order;
END""",
}

PG_FUNCTIONS = [
    """CREATE FUNCTION tally_period(d date) RETURNS date IMMUTABLE LANGUAGE sql AS
$$ SELECT greatest(date_trunc('week', d)::date, date_trunc('year', d)::date) $$""",
    """CREATE FUNCTION tally_step_change(p_participant integer, p_step integer, p_on date, p_ooo boolean,
                                   p_sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_sign > 0 THEN
    INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
    SELECT p.kelurahan_id, k.kecamatan_id, p_step, tally_period(p_on), 1, p_ooo::integer
    FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id WHERE p.id = p_participant
    ON CONFLICT (kelurahan_id, step, period_start)
    DO UPDATE SET n = step_tally.n + 1, n_out_of_order = step_tally.n_out_of_order + excluded.n_out_of_order;
    UPDATE participant SET steps_mask = steps_mask | (1 << (p_step - 1))
    WHERE id = p_participant AND (steps_mask & (1 << (p_step - 1))) = 0;
  ELSE
    UPDATE step_tally SET n = n - 1, n_out_of_order = n_out_of_order - p_ooo::integer
    WHERE step = p_step AND period_start = tally_period(p_on)
      AND kelurahan_id = (SELECT kelurahan_id FROM participant WHERE id = p_participant);
    UPDATE participant SET steps_mask = steps_mask & ~(1 << (p_step - 1))
    WHERE id = p_participant AND (steps_mask & (1 << (p_step - 1))) <> 0;
  END IF;
END $$""",
    """CREATE FUNCTION tally_step_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM tally_step_change(OLD.participant_id, OLD.step, OLD.completed_on, OLD.out_of_order, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM tally_step_change(NEW.participant_id, NEW.step, NEW.completed_on, NEW.out_of_order, 1);
  END IF;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION tally_participant_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE participant_tally SET n = n - 1 WHERE kelurahan_id = OLD.kelurahan_id AND steps_mask = OLD.steps_mask;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO participant_tally (kelurahan_id, kecamatan_id, steps_mask, n)
    SELECT NEW.kelurahan_id, k.kecamatan_id, NEW.steps_mask, 1 FROM kelurahan k WHERE k.id = NEW.kelurahan_id
    ON CONFLICT (kelurahan_id, steps_mask) DO UPDATE SET n = participant_tally.n + 1;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.kelurahan_id <> NEW.kelurahan_id THEN
    UPDATE step_tally t SET n = t.n - 1, n_out_of_order = t.n_out_of_order - s.out_of_order::integer
    FROM participant_step s
    WHERE s.participant_id = NEW.id AND t.kelurahan_id = OLD.kelurahan_id AND t.step = s.step
      AND t.period_start = tally_period(s.completed_on);
    INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
    SELECT NEW.kelurahan_id, k.kecamatan_id, s.step, tally_period(s.completed_on), 1, s.out_of_order::integer
    FROM participant_step s JOIN kelurahan k ON k.id = NEW.kelurahan_id WHERE s.participant_id = NEW.id
    ON CONFLICT (kelurahan_id, step, period_start)
    DO UPDATE SET n = step_tally.n + 1, n_out_of_order = step_tally.n_out_of_order + excluded.n_out_of_order;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER tally_step AFTER INSERT OR DELETE OR UPDATE OF participant_id, step, completed_on, out_of_order
ON participant_step FOR EACH ROW EXECUTE FUNCTION tally_step_trigger()""",
    """CREATE TRIGGER tally_participant AFTER INSERT OR DELETE OR UPDATE OF kelurahan_id, steps_mask
ON participant FOR EACH ROW EXECUTE FUNCTION tally_participant_trigger()""",
]


def _backfill(period):
    op.execute("""UPDATE participant SET steps_mask = COALESCE((
        SELECT sum(1 << (s.step - 1)) FROM participant_step s WHERE s.participant_id = participant.id), 0)""")
    op.execute(f"""INSERT INTO step_tally (kelurahan_id, kecamatan_id, step, period_start, n, n_out_of_order)
        SELECT p.kelurahan_id, k.kecamatan_id, s.step, {period}, count(*),
               sum(CASE WHEN s.out_of_order THEN 1 ELSE 0 END)
        FROM participant_step s JOIN participant p ON p.id = s.participant_id JOIN kelurahan k ON k.id = p.kelurahan_id
        GROUP BY p.kelurahan_id, k.kecamatan_id, s.step, {period}""")
    op.execute("""INSERT INTO participant_tally (kelurahan_id, kecamatan_id, steps_mask, n)
        SELECT p.kelurahan_id, k.kecamatan_id, p.steps_mask, count(*)
        FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id GROUP BY p.kelurahan_id, k.kecamatan_id, p.steps_mask""")


def upgrade():
    op.add_column('participant', sa.Column('steps_mask', sa.SmallInteger(), server_default='0', nullable=False))
    op.create_index('ix_participant_kecamatan_name_birth', 'participant',
                    ['kecamatan_id', 'name_key', 'birth_date', 'status'])
    op.drop_index('ix_participant_kecamatan_name_key', table_name='participant')
    op.create_index('ix_participant_kelurahan_registered', 'participant', ['kelurahan_id', 'registered_at'])
    op.drop_index('ix_participant_kelurahan_id', table_name='participant')
    op.create_index('ix_participant_status_channel_registered', 'participant',
                    ['status', 'channel', 'registered_at', 'kelurahan_id'])
    op.drop_index('ix_participant_status', table_name='participant')
    op.create_index('ix_participant_no_phone', 'participant', ['kecamatan_id', 'kelurahan_id', 'status'],
                    sqlite_where=sa.text('phone IS NULL'), postgresql_where=sa.text('phone IS NULL'))
    op.create_table('step_tally',
    sa.Column('kelurahan_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.SmallInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('n_out_of_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_step_tally_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['kelurahan_id'], ['kelurahan.id'], name=op.f('fk_step_tally_kelurahan_id_kelurahan')),
    sa.PrimaryKeyConstraint('kelurahan_id', 'step', 'period_start', name=op.f('pk_step_tally'))
    )
    op.create_index('ix_step_tally_kecamatan_step_period', 'step_tally', ['kecamatan_id', 'step', 'period_start'])
    op.create_index('ix_step_tally_step_period', 'step_tally', ['step', 'period_start'])
    op.create_index('ix_step_tally_out_of_order', 'step_tally', ['kelurahan_id', 'period_start'],
                    sqlite_where=sa.text('n_out_of_order > 0'), postgresql_where=sa.text('n_out_of_order > 0'))
    op.create_table('participant_tally',
    sa.Column('kelurahan_id', sa.Integer(), nullable=False),
    sa.Column('steps_mask', sa.SmallInteger(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_participant_tally_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['kelurahan_id'], ['kelurahan.id'], name=op.f('fk_participant_tally_kelurahan_id_kelurahan')),
    sa.PrimaryKeyConstraint('kelurahan_id', 'steps_mask', name=op.f('pk_participant_tally'))
    )
    op.create_index(op.f('ix_participant_tally_kecamatan_id'), 'participant_tally', ['kecamatan_id'])

    if op.get_bind().dialect.name == "postgresql":
        _backfill("greatest(date_trunc('week', s.completed_on)::date, date_trunc('year', s.completed_on)::date)")
        for statement in PG_FUNCTIONS:
            op.execute(statement)
    else:
        _backfill(_sqlite_bucket("s.completed_on"))
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tally_participant ON participant")
        op.execute("DROP TRIGGER tally_step ON participant_step")
        for name in ("tally_participant_trigger()", "tally_step_trigger()",
                     "tally_step_change(integer, integer, date, boolean, integer)", "tally_period(date)"):
            op.execute(f"DROP FUNCTION {name}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f('ix_participant_tally_kecamatan_id'), table_name='participant_tally')
    op.drop_table('participant_tally')
    op.drop_index('ix_step_tally_out_of_order', table_name='step_tally')
    op.drop_index('ix_step_tally_step_period', table_name='step_tally')
    op.drop_index('ix_step_tally_kecamatan_step_period', table_name='step_tally')
    op.drop_table('step_tally')
    op.drop_index('ix_participant_no_phone', table_name='participant')
    op.create_index('ix_participant_status', 'participant', ['status'])
    op.drop_index('ix_participant_status_channel_registered', table_name='participant')
    op.create_index('ix_participant_kelurahan_id', 'participant', ['kelurahan_id'])
    op.drop_index('ix_participant_kelurahan_registered', table_name='participant')
    op.create_index('ix_participant_kecamatan_name_key', 'participant', ['kecamatan_id', 'name_key'])
    op.drop_index('ix_participant_kecamatan_name_birth', table_name='participant')
    op.drop_column('participant', 'steps_mask')
