"""Indexes for one learner's attempts, answer reveals and hint reveals in one lesson, and
for the instructor's figures.

Lesson pages and quiz replies read these rows per learner and lesson; with only the
per-question and per-learner indexes, the database read every learner's rows of the lesson.
The instructor's per-question counts are read from the question index alone once it also
holds the attempt number and the verdict, and the wrong answers through an index that
starts with the verdict.

Revision ID: 0006_learner_lesson_indexes
Revises: 0005_lesson_progress
Create Date: 2026-11-21
"""

from alembic import op

revision = '0006_learner_lesson_indexes'
down_revision = '0005_lesson_progress'
branch_labels = None
depends_on = None

TABLES = ('quiz_attempt', 'quiz_reveal', 'hint_reveal')


def upgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_question')
        batch_op.create_index(
            'ix_quiz_attempt_question',
            ['course', 'lesson', 'question_id', 'attempt_number', 'correct'],
        )
        batch_op.create_index(
            'ix_quiz_attempt_wrong', ['course', 'correct', 'lesson', 'question_id']
        )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_user_lesson', ['user_id', 'course', 'lesson', 'question_id'])
            batch_op.create_index(f'ix_{table}_guest_lesson', ['guest_id', 'course', 'lesson', 'question_id'])


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_guest_lesson')
            batch_op.drop_index(f'ix_{table}_user_lesson')
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_wrong')
        batch_op.drop_index('ix_quiz_attempt_question')
        batch_op.create_index('ix_quiz_attempt_question', ['course', 'lesson', 'question_id'])
