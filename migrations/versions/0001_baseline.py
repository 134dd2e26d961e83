"""Baseline: the schema starts empty; each feature adds its tables in a later revision.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-21
"""

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
