"""online registrations whose NIK is already registered

Revision ID: 7a1e0c3d9b44
Revises: 5e5510f0a1b2
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7a1e0c3d9b44'
down_revision = '5e5510f0a1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('online_resubmission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=120), nullable=True),
    sa.Column('business_name', sa.String(length=150), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['handled_by_id'], ['app_user.id'], name=op.f('fk_online_resubmission_handled_by_id_app_user')),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_online_resubmission_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_online_resubmission_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_online_resubmission')),
    sa.UniqueConstraint('participant_id', 'kecamatan_id', name=op.f('uq_online_resubmission_participant_id'))
    )
    with op.batch_alter_table('online_resubmission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_online_resubmission_kecamatan_id'), ['kecamatan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('online_resubmission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_online_resubmission_kecamatan_id'))
    op.drop_table('online_resubmission')
