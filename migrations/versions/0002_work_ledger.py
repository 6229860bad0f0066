"""work ledger and worker heartbeats; 64-bit file sizes; clip notes; job progress throttle

Revision ID: 0002_work_ledger
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from video_qa.models import UTCDateTime

revision = "0002_work_ledger"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.alter_column("size", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)
        batch.add_column(sa.Column("probe", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("progress_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("clips") as batch:
        batch.add_column(sa.Column("notes", sa.JSON(), nullable=True))

    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("clip_index", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settings_key", sa.String(64), nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'queued', 'running', 'done', 'failed')", name=op.f("ck_work_items_status")
        ),
        sa.CheckConstraint(
            "part IN ('ingest', 'hear_read', 'see', 'finalize')", name=op.f("ck_work_items_part")
        ),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_work_items_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
        sa.UniqueConstraint("video_id", "clip_index", "part", name=op.f("uq_work_items_video_id_clip_index_part")),
    )
    op.create_index("ix_work_items_status_worker", "work_items", ["status", "worker"])

    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(200), nullable=False),
        sa.Column("embedded", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("work_items")
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("notes")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("progress_at")
    with op.batch_alter_table("videos") as batch:
        batch.drop_column("probe")
        batch.alter_column("size", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
