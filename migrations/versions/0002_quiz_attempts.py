"""Quiz attempts, answer reveals and hint reveals: append-only records of what learners did.

Revision ID: 0002_quiz_attempts
Revises: 0001_baseline
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = '0002_quiz_attempts'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hint_reveal',
    sa.Column('hint_number', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_id', sa.String(length=32), nullable=True),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('lesson', sa.String(length=100), nullable=False),
    sa.Column('question_id', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_id IS NULL)', name=op.f('ck_hint_reveal_one_learner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hint_reveal'))
    )
    with op.batch_alter_table('hint_reveal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hint_reveal_guest_id'), ['guest_id'], unique=False)
        batch_op.create_index('ix_hint_reveal_question', ['course', 'lesson', 'question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hint_reveal_user_id'), ['user_id'], unique=False)

    op.create_table('quiz_attempt',
    sa.Column('submission_id', sa.String(length=36), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('attempt_number', sa.Integer(), nullable=False),
    sa.Column('after_reveal', sa.Boolean(), nullable=False),
    sa.Column('misconceptions', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_id', sa.String(length=32), nullable=True),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('lesson', sa.String(length=100), nullable=False),
    sa.Column('question_id', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_id IS NULL)', name=op.f('ck_quiz_attempt_one_learner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempt')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_quiz_attempt_submission_id'))
    )
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempt_guest_id'), ['guest_id'], unique=False)
        batch_op.create_index('ix_quiz_attempt_question', ['course', 'lesson', 'question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempt_user_id'), ['user_id'], unique=False)

    op.create_table('quiz_reveal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_id', sa.String(length=32), nullable=True),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('lesson', sa.String(length=100), nullable=False),
    sa.Column('question_id', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (guest_id IS NULL)', name=op.f('ck_quiz_reveal_one_learner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_reveal'))
    )
    with op.batch_alter_table('quiz_reveal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_reveal_guest_id'), ['guest_id'], unique=False)
        batch_op.create_index('ix_quiz_reveal_question', ['course', 'lesson', 'question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_reveal_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('quiz_reveal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_reveal_user_id'))
        batch_op.drop_index('ix_quiz_reveal_question')
        batch_op.drop_index(batch_op.f('ix_quiz_reveal_guest_id'))

    op.drop_table('quiz_reveal')
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempt_user_id'))
        batch_op.drop_index('ix_quiz_attempt_question')
        batch_op.drop_index(batch_op.f('ix_quiz_attempt_guest_id'))

    op.drop_table('quiz_attempt')
    with op.batch_alter_table('hint_reveal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hint_reveal_user_id'))
        batch_op.drop_index('ix_hint_reveal_question')
        batch_op.drop_index(batch_op.f('ix_hint_reveal_guest_id'))

    op.drop_table('hint_reveal')
