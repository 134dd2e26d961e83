"""A learner's attempts at one lesson read from the index alone.

Lesson pages and quiz replies count each question's attempts, wrong answers and the first
verdict, and whether an answer was right before it was shown, since the learner's last
reset. With the verdicts and times in the per-learner indexes, that reads no table row,
however many attempts a learner made.

Revision ID: 0007_covering_attempt_indexes
Revises: 0006_learner_lesson_indexes
Create Date: 2026-11-21
"""

from alembic import op

revision = '0007_covering_attempt_indexes'
down_revision = '0006_learner_lesson_indexes'
branch_labels = None
depends_on = None

KEY = ['course', 'lesson', 'question_id']
COVERED = ['correct', 'after_reveal', 'created_at']


def upgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_user_lesson')
        batch_op.drop_index('ix_quiz_attempt_guest_lesson')
        batch_op.create_index('ix_quiz_attempt_user_lesson', ['user_id', *KEY, *COVERED])
        batch_op.create_index('ix_quiz_attempt_guest_lesson', ['guest_id', *KEY, 'user_id', *COVERED])


def downgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_guest_lesson')
        batch_op.drop_index('ix_quiz_attempt_user_lesson')
        batch_op.create_index('ix_quiz_attempt_user_lesson', ['user_id', *KEY])
        batch_op.create_index('ix_quiz_attempt_guest_lesson', ['guest_id', *KEY])
