"""User accounts; quiz attempts and reveals of an account go with it when it is deleted.

Revision ID: 0003_user_accounts
Revises: 0002_quiz_attempts
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = '0003_user_accounts'
down_revision = '0002_quiz_attempts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('learner', 'instructor', 'admin')", name=op.f('ck_user_account_known_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    with op.batch_alter_table('hint_reveal', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_hint_reveal_user_id_user_account'), 'user_account', ['user_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_quiz_attempt_user_id_user_account'), 'user_account', ['user_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('quiz_reveal', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_quiz_reveal_user_id_user_account'), 'user_account', ['user_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('quiz_reveal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_quiz_reveal_user_id_user_account'), type_='foreignkey')

    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_quiz_attempt_user_id_user_account'), type_='foreignkey')

    with op.batch_alter_table('hint_reveal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_hint_reveal_user_id_user_account'), type_='foreignkey')

    op.drop_table('user_account')
