"""at most one open SKU letter per participant

Revision ID: d81b6c2f4e90
Revises: c4f1d2e8a7b3
Create Date: 2026-12-03 22:00:00

Letters made twice by concurrent requests before this rule existed: the earliest open letter of
a participant stays open, later ones are cancelled with a reason, then the unique index states
the rule.
"""
from alembic import op
import sqlalchemy as sa


revision = 'd81b6c2f4e90'
down_revision = 'c4f1d2e8a7b3'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "UPDATE sku_letter SET status = 'cancelled', "
        "cancel_reason = 'Surat ganda (dibuat dua kali bersamaan); surat pertama tetap berlaku.' "
        "WHERE status = 'requested' AND id > (SELECT MIN(other.id) FROM sku_letter AS other "
        "WHERE other.participant_id = sku_letter.participant_id AND other.status = 'requested')"))
    with op.batch_alter_table('sku_letter', schema=None) as batch_op:
        batch_op.create_index('uq_sku_letter_open_participant', ['participant_id'], unique=True,
                              sqlite_where=sa.text("status = 'requested'"),
                              postgresql_where=sa.text("status = 'requested'"))


def downgrade():
    with op.batch_alter_table('sku_letter', schema=None) as batch_op:
        batch_op.drop_index('uq_sku_letter_open_participant')
