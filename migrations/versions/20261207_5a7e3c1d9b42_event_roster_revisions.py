"""event roster revisions: the bazaar-day attendance list in step on several devices (issue 19)

Revision ID: 5a7e3c1d9b42
Revises: 66df9a35656b
Create Date: 2026-12-07 14:00:00

Every attendance mark takes the event's next revision number; screens poll for sign-ups above the
number they have; ``reset_revision`` tells a screen older than a change of its rows to reload. A
sign-up keeps when its attendance mark was made and by whom, so the later mark by time wins.
"""
from alembic import op
import sqlalchemy as sa


revision = '5a7e3c1d9b42'
down_revision = '66df9a35656b'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: rebuilding event or signup (batch mode on SQLite) fails while rows reference them.
    op.add_column('event', sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    op.add_column('event', sa.Column('reset_revision', sa.Integer(), server_default='0', nullable=False))
    op.add_column('signup', sa.Column('attended_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE signup ADD COLUMN attended_by_id INTEGER '
                   'CONSTRAINT fk_signup_attended_by_id_app_user REFERENCES app_user (id)')
    else:
        op.add_column('signup', sa.Column('attended_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_signup_attended_by_id_app_user'), 'signup', 'app_user',
                              ['attended_by_id'], ['id'])
    op.add_column('signup', sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_signup_event_revision', 'signup', ['event_id', 'revision'], unique=False)


def downgrade():
    op.drop_index('ix_signup_event_revision', table_name='signup')
    if op.get_bind().dialect.name != 'sqlite':  # SQLite: the table rebuilt without the column loses its key too
        op.drop_constraint(op.f('fk_signup_attended_by_id_app_user'), 'signup', type_='foreignkey')
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('attended_by_id')
        batch_op.drop_column('attended_at')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('reset_revision')
        batch_op.drop_column('revision')
