"""Indexes for one learner's attempts, answer reveals and hint reveals in one lesson.

Lesson pages and quiz replies read these rows per learner and lesson; with only the
per-question and per-learner indexes, the database read every learner's rows of the lesson.

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
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_user_lesson', ['user_id', 'course', 'lesson', 'question_id'])
            batch_op.create_index(f'ix_{table}_guest_lesson', ['guest_id', 'course', 'lesson', 'question_id'])


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_guest_lesson')
            batch_op.drop_index(f'ix_{table}_user_lesson')
