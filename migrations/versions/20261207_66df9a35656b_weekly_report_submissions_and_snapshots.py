"""Weekly reports submitted by kecamatan and approved by the Sudin: states, frozen versions, files (issue 20)

Revision ID: 66df9a35656b
Revises: cc67ce5b73c6
Create Date: 2026-12-07 06:00:27.260039

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '66df9a35656b'
down_revision = 'cc67ce5b73c6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('weekly_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('monday', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state in ('open', 'draft', 'submitted', 'returned', 'approved')", name=op.f('ck_weekly_submission_state')),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_weekly_submission_kecamatan_id_kecamatan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_submission')),
    sa.UniqueConstraint('kecamatan_id', 'monday', name='uq_weekly_submission_kecamatan_monday')
    )
    with op.batch_alter_table('weekly_submission', schema=None) as batch_op:
        batch_op.create_index('ix_weekly_submission_monday_state', ['monday', 'state'], unique=False)

    op.create_table('weekly_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('monday', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(), nullable=False),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('members', sa.LargeBinary(), nullable=False),
    sa.Column('revised_members', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint("outcome in ('pending', 'returned', 'approved')", name=op.f('ck_weekly_snapshot_outcome')),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['app_user.id'], name=op.f('fk_weekly_snapshot_frozen_by_id_app_user')),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_weekly_snapshot_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['previous_id'], ['weekly_snapshot.id'], name=op.f('fk_weekly_snapshot_previous_id_weekly_snapshot')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['app_user.id'], name=op.f('fk_weekly_snapshot_reviewed_by_id_app_user')),
    sa.ForeignKeyConstraint(['submission_id'], ['weekly_submission.id'], name=op.f('fk_weekly_snapshot_submission_id_weekly_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_snapshot')),
    sa.UniqueConstraint('submission_id', 'version', name='uq_weekly_snapshot_submission_version')
    )
    with op.batch_alter_table('weekly_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_weekly_snapshot_kecamatan_outcome_monday', ['kecamatan_id', 'outcome', 'monday'],
                              unique=False)

    op.create_table('weekly_report_file',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('fmt', sa.String(length=4), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_weekly_report_file_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['weekly_snapshot.id'], name=op.f('fk_weekly_report_file_snapshot_id_weekly_snapshot')),
    sa.PrimaryKeyConstraint('snapshot_id', 'fmt', name=op.f('pk_weekly_report_file'))
    )


def downgrade():
    op.drop_table('weekly_report_file')
    op.drop_table('weekly_snapshot')
    with op.batch_alter_table('weekly_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_weekly_submission_monday_state')

    op.drop_table('weekly_submission')
