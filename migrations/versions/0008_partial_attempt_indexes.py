"""Attempt indexes per kind of learner, and a learner's attempts in the order made.

Each attempt was stored in four per-learner indexes, two of them for the other kind of
learner (an account's attempt under a NULL guest id, a guest's under a NULL user id).
The per-learner indexes now hold the rows of their kind only, so storing an attempt
updates two of them. The single-column ``user_id`` and ``guest_id`` indexes give way to
indexes of a learner's attempts at a question in the order they were made: their first
and newest attempt at it are found by seeking, where the rows were read back from the
learner's oldest or newest attempt at any question until one was at this question.

Revision ID: 0008_partial_attempt_indexes
Revises: 0007_covering_attempt_indexes
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_partial_attempt_indexes'
down_revision = '0007_covering_attempt_indexes'
branch_labels = None
depends_on = None

KEY = ['course', 'lesson', 'question_id']
COVERED = ['correct', 'after_reveal', 'created_at']


def only_rows_with(column):
    where = sa.text(f'{column} IS NOT NULL')
    return {'sqlite_where': where, 'postgresql_where': where}


def upgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_user_lesson')
        batch_op.drop_index('ix_quiz_attempt_guest_lesson')
        batch_op.drop_index('ix_quiz_attempt_user_id')
        batch_op.drop_index('ix_quiz_attempt_guest_id')
        batch_op.create_index(
            'ix_quiz_attempt_user_lesson', ['user_id', *KEY, *COVERED], **only_rows_with('user_id')
        )
        batch_op.create_index(
            'ix_quiz_attempt_guest_lesson',
            ['guest_id', *KEY, 'user_id', *COVERED],
            **only_rows_with('guest_id'),
        )
        batch_op.create_index('ix_quiz_attempt_user_order', ['user_id', *KEY], **only_rows_with('user_id'))
        batch_op.create_index(
            'ix_quiz_attempt_guest_order', ['guest_id', *KEY, 'user_id'], **only_rows_with('guest_id')
        )


def downgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_guest_order')
        batch_op.drop_index('ix_quiz_attempt_user_order')
        batch_op.drop_index('ix_quiz_attempt_guest_lesson')
        batch_op.drop_index('ix_quiz_attempt_user_lesson')
        batch_op.create_index('ix_quiz_attempt_guest_id', ['guest_id'])
        batch_op.create_index('ix_quiz_attempt_user_id', ['user_id'])
        batch_op.create_index('ix_quiz_attempt_user_lesson', ['user_id', *KEY, *COVERED])
        batch_op.create_index('ix_quiz_attempt_guest_lesson', ['guest_id', *KEY, 'user_id', *COVERED])
