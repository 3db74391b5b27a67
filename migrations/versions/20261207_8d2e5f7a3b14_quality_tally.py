"""quality tally: participants without a phone and suspected duplicates per kelurahan, kept by triggers

Revision ID: 8d2e5f7a3b14
Revises: 4f8a1c2e9d57
Create Date: 2026-12-07 14:25:00

The weekly report of a kota or the province counted these over the whole participant table (the
duplicates by grouping every participant by kecamatan, name and birth date; issue 17). A trigger on
``participant`` moves the counts of the row written and, when it makes or unmakes a pair, of its
one twin: the twins are looked up through ``ix_participant_kecamatan_name_birth`` (at most two
rows read). SQLite fires it after each row, PostgreSQL before each row (so that a statement writing
several twins sees them one at a time, as SQLite does) under a transaction-level advisory lock on the
twins' key (one of 256 per kecamatan) (so that two transactions writing twins at once see each other; SQLite's writers take
turns anyway). Existing participants are counted here once.
"""
from alembic import op
import sqlalchemy as sa


revision = '8d2e5f7a3b14'
down_revision = '4f8a1c2e9d57'
branch_labels = None
depends_on = None

COLUMNS = "kecamatan_id, kelurahan_id, name_key, birth_date, status, phone"


def _sqlite_change(row, sign):
    twin = (f"t.kecamatan_id = {row}.kecamatan_id AND t.name_key = {row}.name_key "
            f"AND t.birth_date = {row}.birth_date AND t.status <> 'rejected' AND t.id <> {row}.id")
    return f"""
  INSERT INTO quality_tally (kelurahan_id, kecamatan_id, n_no_phone, n_duplicate)
  SELECT x.kel, k.kecamatan_id, {sign} * x.no_phone, {sign} * x.duplicate FROM (
      SELECT {row}.kelurahan_id AS kel, ({row}.phone IS NULL) AS no_phone,
             EXISTS (SELECT 1 FROM participant t WHERE {twin}) AS duplicate
      UNION ALL
      SELECT t.kelurahan_id, 0, 1 FROM participant t
      WHERE {twin} AND (SELECT count(*) FROM (SELECT 1 FROM participant t WHERE {twin} LIMIT 2)) = 1
  ) x JOIN kelurahan k ON k.id = x.kel
  WHERE {row}.status <> 'rejected' AND (x.no_phone OR x.duplicate)
  ON CONFLICT (kelurahan_id) DO UPDATE SET n_no_phone = n_no_phone + excluded.n_no_phone,
      n_duplicate = n_duplicate + excluded.n_duplicate;"""


SQLITE_TRIGGERS = {
    "quality_tally_insert": f"AFTER INSERT ON participant BEGIN {_sqlite_change('NEW', 1)}\nEND",
    "quality_tally_delete": f"AFTER DELETE ON participant BEGIN {_sqlite_change('OLD', -1)}\nEND",
    "quality_tally_update": (f"AFTER UPDATE OF {COLUMNS} ON participant BEGIN {_sqlite_change('OLD', -1)}"
                             f"{_sqlite_change('NEW', 1)}\nEND"),
}

PG_FUNCTIONS = [
    """CREATE FUNCTION quality_tally_change(p participant, p_sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  others integer;
  other_kelurahan integer;
BEGIN
  IF p.status = 'rejected' THEN
    RETURN;
  END IF;
  -- Two transactions writing twins at once take turns here (the later one then sees the other's row).
  -- One of 256 locks per kecamatan (twins share one): a 20,000-row import holds at most 256 locks, not
  -- one per row (PostgreSQL's lock table has room for ~6,400), and waits only for its own kecamatan's
  -- desks, whose registration numbers it holds anyway.
  PERFORM pg_advisory_xact_lock(p.kecamatan_id, 1700000 + (hashtext(p.name_key || '|' || p.birth_date) & 255));
  SELECT count(*), min(kelurahan_id) INTO others, other_kelurahan FROM (
    SELECT t.kelurahan_id FROM participant t
    WHERE t.kecamatan_id = p.kecamatan_id AND t.name_key = p.name_key AND t.birth_date = p.birth_date
      AND t.status <> 'rejected' AND t.id <> p.id LIMIT 2) twins;
  IF p.phone IS NOT NULL AND others = 0 THEN
    RETURN;
  END IF;
  INSERT INTO quality_tally (kelurahan_id, kecamatan_id, n_no_phone, n_duplicate)
  SELECT k.id, k.kecamatan_id, p_sign * (p.phone IS NULL)::integer, p_sign * (others > 0)::integer
  FROM kelurahan k WHERE k.id = p.kelurahan_id
  ON CONFLICT (kelurahan_id) DO UPDATE SET n_no_phone = quality_tally.n_no_phone + excluded.n_no_phone,
      n_duplicate = quality_tally.n_duplicate + excluded.n_duplicate;
  IF others = 1 THEN
    INSERT INTO quality_tally (kelurahan_id, kecamatan_id, n_no_phone, n_duplicate)
    SELECT k.id, k.kecamatan_id, 0, p_sign FROM kelurahan k WHERE k.id = other_kelurahan
    ON CONFLICT (kelurahan_id) DO UPDATE SET n_duplicate = quality_tally.n_duplicate + excluded.n_duplicate;
  END IF;
END $$""",
    """CREATE FUNCTION quality_tally_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM quality_tally_change(OLD, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM quality_tally_change(NEW, 1);
    RETURN NEW;
  END IF;
  RETURN OLD;
END $$""",
    f"""CREATE TRIGGER quality_tally BEFORE INSERT OR DELETE OR UPDATE OF {COLUMNS} ON participant
FOR EACH ROW EXECUTE FUNCTION quality_tally_trigger()""",
]

# The bulk count (also bench/build.py's): the groups of twins first, then every participant not rejected.
BACKFILL = """INSERT INTO quality_tally (kelurahan_id, kecamatan_id, n_no_phone, n_duplicate)
    SELECT p.kelurahan_id, k.kecamatan_id, sum(CASE WHEN p.phone IS NULL THEN 1 ELSE 0 END),
           sum(CASE WHEN g.kecamatan_id IS NULL THEN 0 ELSE 1 END)
    FROM participant p JOIN kelurahan k ON k.id = p.kelurahan_id
    LEFT JOIN (SELECT kecamatan_id, name_key, birth_date FROM participant WHERE status <> 'rejected'
               GROUP BY kecamatan_id, name_key, birth_date HAVING count(*) > 1) g
      ON g.kecamatan_id = p.kecamatan_id AND g.name_key = p.name_key AND g.birth_date = p.birth_date
    WHERE p.status <> 'rejected'
    GROUP BY p.kelurahan_id, k.kecamatan_id"""


def upgrade():
    op.create_table('quality_tally',
    sa.Column('kelurahan_id', sa.Integer(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('n_no_phone', sa.Integer(), nullable=False),
    sa.Column('n_duplicate', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_quality_tally_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['kelurahan_id'], ['kelurahan.id'], name=op.f('fk_quality_tally_kelurahan_id_kelurahan')),
    sa.PrimaryKeyConstraint('kelurahan_id', name=op.f('pk_quality_tally'))
    )
    op.create_index(op.f('ix_quality_tally_kecamatan_id'), 'quality_tally', ['kecamatan_id'], unique=False)
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER quality_tally ON participant")
        op.execute("DROP FUNCTION quality_tally_trigger()")
        op.execute("DROP FUNCTION quality_tally_change(participant, integer)")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f('ix_quality_tally_kecamatan_id'), table_name='quality_tally')
    op.drop_table('quality_tally')
