"""roster revisions: what changed on a meeting's roster since a screen last looked

Revision ID: 9e4b2d7f1a36
Revises: 7c1d4e8a9b25
Create Date: 2026-12-07 03:40:00

Every mark takes the meeting's next revision number; screens poll for rows above the number they
have. ``reset_revision`` tells a screen older than a close or reopen to reload.
"""
from alembic import op
import sqlalchemy as sa


revision = '9e4b2d7f1a36'
down_revision = '7c1d4e8a9b25'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reset_revision', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_attendance_meeting_revision', ['meeting_id', 'revision'], unique=False)


def downgrade():
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_meeting_revision')
        batch_op.drop_column('revision')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('reset_revision')
        batch_op.drop_column('revision')
