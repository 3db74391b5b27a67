"""variant year tally: step_variant_tally added up per year, kept by triggers on step_variant_tally

Revision ID: 4f8a1c2e9d57
Revises: 5a7e3c1d9b42
Create Date: 2026-12-07 14:10:00

The dashboard and the weekly report show P1 by channel and P4 by licence kind over all time and
over the year; summed from the weekly tally that is every week of every year (155,256 rows at a
million participants; issue 17). ``step_variant_year_tally`` holds the same counts per calendar
year. Triggers on ``step_variant_tally`` move a year's row by every change of one of its weeks,
so whatever keeps the weekly tally (the step and participant triggers, ``flask tallies rebuild``)
keeps the yearly one. Existing weeks are added up here once.
"""
from alembic import op
import sqlalchemy as sa


revision = '4f8a1c2e9d57'
down_revision = '5a7e3c1d9b42'
branch_labels = None
depends_on = None

SQLITE_YEAR = "CAST(strftime('%Y', {row}.period_start) AS INTEGER)"


def _sqlite_add(row):
    return f"""
  INSERT INTO step_variant_year_tally (kelurahan_id, kecamatan_id, step, variant, year, n)
  VALUES ({row}.kelurahan_id, {row}.kecamatan_id, {row}.step, {row}.variant, {SQLITE_YEAR.format(row=row)}, {row}.n)
  ON CONFLICT (kelurahan_id, step, variant, year) DO UPDATE SET n = n + excluded.n;"""


def _sqlite_remove(row):
    return f"""
  UPDATE step_variant_year_tally SET n = n - {row}.n
  WHERE kelurahan_id = {row}.kelurahan_id AND step = {row}.step AND variant = {row}.variant
    AND year = {SQLITE_YEAR.format(row=row)};"""


SQLITE_TRIGGERS = {
    "variant_year_tally_insert": f"AFTER INSERT ON step_variant_tally BEGIN {_sqlite_add('NEW')}\nEND",
    "variant_year_tally_delete": f"AFTER DELETE ON step_variant_tally BEGIN {_sqlite_remove('OLD')}\nEND",
    "variant_year_tally_update": (f"AFTER UPDATE ON step_variant_tally BEGIN {_sqlite_remove('OLD')}"
                                  f"{_sqlite_add('NEW')}\nEND"),
}

PG_FUNCTIONS = [
    """CREATE FUNCTION variant_year_tally_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE step_variant_year_tally SET n = n - OLD.n
    WHERE kelurahan_id = OLD.kelurahan_id AND step = OLD.step AND variant = OLD.variant
      AND year = extract(year FROM OLD.period_start)::smallint;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO step_variant_year_tally (kelurahan_id, kecamatan_id, step, variant, year, n)
    VALUES (NEW.kelurahan_id, NEW.kecamatan_id, NEW.step, NEW.variant, extract(year FROM NEW.period_start)::smallint,
            NEW.n)
    ON CONFLICT (kelurahan_id, step, variant, year) DO UPDATE SET n = step_variant_year_tally.n + excluded.n;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER variant_year_tally AFTER INSERT OR DELETE OR UPDATE ON step_variant_tally
FOR EACH ROW EXECUTE FUNCTION variant_year_tally_trigger()""",
]

# The bulk computation from the weekly rows (also bench/build.py's): ``{year}`` is the dialect's
# year of ``period_start``.
BACKFILL = """INSERT INTO step_variant_year_tally (kelurahan_id, kecamatan_id, step, variant, year, n)
    SELECT kelurahan_id, kecamatan_id, step, variant, {year}, sum(n) FROM step_variant_tally
    GROUP BY kelurahan_id, kecamatan_id, step, variant, {year}"""
YEAR = {"sqlite": "CAST(strftime('%Y', period_start) AS INTEGER)",
        "postgresql": "extract(year FROM period_start)::smallint"}


def upgrade():
    op.create_table('step_variant_year_tally',
    sa.Column('kelurahan_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.SmallInteger(), nullable=False),
    sa.Column('variant', sa.String(length=10), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_step_variant_year_tally_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['kelurahan_id'], ['kelurahan.id'], name=op.f('fk_step_variant_year_tally_kelurahan_id_kelurahan')),
    sa.PrimaryKeyConstraint('kelurahan_id', 'step', 'variant', 'year', name=op.f('pk_step_variant_year_tally'))
    )
    op.create_index(op.f('ix_step_variant_year_tally_kecamatan_id'), 'step_variant_year_tally', ['kecamatan_id'],
                    unique=False)
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL.format(year=YEAR[dialect]))
    if dialect == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER variant_year_tally ON step_variant_tally")
        op.execute("DROP FUNCTION variant_year_tally_trigger()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f('ix_step_variant_year_tally_kecamatan_id'), table_name='step_variant_year_tally')
    op.drop_table('step_variant_year_tally')
