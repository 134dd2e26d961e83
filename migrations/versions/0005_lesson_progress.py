"""Lesson progress per learner, and the time each learner last started a course over.

Revision ID: 0005_lesson_progress
Revises: 0004_login_failures
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_lesson_progress'
down_revision = '0004_login_failures'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('course_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_id', sa.String(length=32), nullable=True),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reset_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_id IS NULL)', name=op.f('ck_course_reset_one_learner')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_course_reset_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_reset')),
    sa.UniqueConstraint('guest_id', 'course', name='uq_course_reset_guest'),
    sa.UniqueConstraint('user_id', 'course', name='uq_course_reset_user')
    )
    with op.batch_alter_table('course_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_reset_guest_id'), ['guest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_reset_user_id'), ['user_id'], unique=False)

    op.create_table('lesson_progress',
    sa.Column('lesson', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('furthest_section', sa.String(length=200), nullable=True),
    sa.Column('furthest_index', sa.Integer(), nullable=False),
    sa.Column('percent_read', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marked_complete', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_id', sa.String(length=32), nullable=True),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_id IS NULL)', name=op.f('ck_lesson_progress_one_learner')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_lesson_progress_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_progress')),
    sa.UniqueConstraint('guest_id', 'course', 'lesson', name='uq_lesson_progress_guest'),
    sa.UniqueConstraint('user_id', 'course', 'lesson', name='uq_lesson_progress_user')
    )
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_progress_guest_id'), ['guest_id'], unique=False)
        batch_op.create_index('ix_lesson_progress_lesson', ['course', 'lesson'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_progress_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_progress_user_id'))
        batch_op.drop_index('ix_lesson_progress_lesson')
        batch_op.drop_index(batch_op.f('ix_lesson_progress_guest_id'))

    op.drop_table('lesson_progress')
    with op.batch_alter_table('course_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_reset_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_reset_guest_id'))

    op.drop_table('course_reset')
