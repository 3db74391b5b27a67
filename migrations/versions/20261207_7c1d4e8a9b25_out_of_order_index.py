"""a partial index of the steps recorded out of order (the weekly report's data-quality figure)

Revision ID: 7c1d4e8a9b25
Revises: 3b9e6f1c2a70
Create Date: 2026-12-07 03:10:00

The weekly report counts the participants with such a step, by domicile, and links the figure to
the list filter ``tak_urut``; the index holds only those few rows.
"""
from alembic import op
import sqlalchemy as sa


revision = '7c1d4e8a9b25'
down_revision = '3b9e6f1c2a70'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('participant_step', schema=None) as batch_op:
        batch_op.create_index('ix_participant_step_out_of_order', ['completed_on', 'participant_id'], unique=False,
                              sqlite_where=sa.text('out_of_order = 1'), postgresql_where=sa.text('out_of_order'))


def downgrade():
    with op.batch_alter_table('participant_step', schema=None) as batch_op:
        batch_op.drop_index('ix_participant_step_out_of_order', sqlite_where=sa.text('out_of_order = 1'),
                            postgresql_where=sa.text('out_of_order'))
