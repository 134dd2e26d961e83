"""Failed sign-ins per account, for the per-account throttle.

Revision ID: 0004_login_failures
Revises: 0003_user_accounts
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = '0004_login_failures'
down_revision = '0003_user_accounts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_logins_since', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('failed_logins_since')
        batch_op.drop_column('failed_logins')
