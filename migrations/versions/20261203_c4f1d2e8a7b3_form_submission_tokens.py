"""one-time form tokens and the answer given to each

Revision ID: c4f1d2e8a7b3
Revises: 7a1e0c3d9b44
Create Date: 2026-12-03 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4f1d2e8a7b3'
down_revision = '7a1e0c3d9b44'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_submission',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=80), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_form_submission_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_form_submission'))
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_claimed_at'), ['claimed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submission_claimed_at'))
    op.drop_table('form_submission')
