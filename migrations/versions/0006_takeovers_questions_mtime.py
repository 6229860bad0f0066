"""Takeovers counted on work items; a file's modification time; questions answered by a worker;
two dead job columns dropped.

- ``work_items.takeovers``: how often an item was taken from a holder that died since it was last
  requested (the poison limit reads it, not ``attempts``, which counts every claim);
- ``videos.file_mtime``: the file's modification time when it was analysed (with ``size``: a file
  changed on disk is noticed);
- ``questions.status`` / ``error`` / ``started_at`` / ``finished_at`` / ``meta``: an ask can be a
  worker's task; rows written before are answers given, ``done``;
- ``jobs.task_id`` (never written) and ``jobs.attempts`` (always 1) are dropped.

SQLite: columns are added in place; ``jobs``, ``work_items`` and ``questions`` are copied by
Alembic's batch mode where SQLite cannot alter in place (no table references them). ``videos`` is
never copied (dropping it would cascade to every table that references it).

Revision ID: 0006_takeovers_questions_mtime
Revises: 0005_moment_embeddings
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from video_qa.models import UTCDateTime

revision = "0006_takeovers_questions_mtime"
down_revision = "0005_moment_embeddings"
branch_labels = None
depends_on = None

QUESTION_STATUS = "status IN ('queued', 'running', 'done', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("work_items") as batch:
        batch.add_column(sa.Column("takeovers", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("videos") as batch:  # an added column only: never a copy
        batch.add_column(sa.Column("file_mtime", sa.Float(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("task_id")
        batch.drop_column("attempts")
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="done"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("started_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("finished_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("meta", sa.JSON(), nullable=True))
        batch.create_check_constraint(op.f("ck_questions_status"), QUESTION_STATUS)


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_constraint(op.f("ck_questions_status"), type_="check")
        batch.drop_column("meta")
        batch.drop_column("finished_at")
        batch.drop_column("started_at")
        batch.drop_column("error")
        batch.drop_column("status")
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("task_id", sa.String(64), nullable=True))
    # SQLite 3.35+ drops a column in place (a batch copy of videos would cascade its deletion)
    op.execute("ALTER TABLE videos DROP COLUMN file_mtime")
    with op.batch_alter_table("work_items") as batch:
        batch.drop_column("takeovers")
