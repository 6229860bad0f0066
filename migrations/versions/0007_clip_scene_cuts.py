"""A clip's scene cuts on its row: ``clips.scene_cuts`` ([[time, uncertainty]], JSON).

The ``hear_read`` part writes them beside its moments and finalize reads them for chapter
boundaries; a work item's ``stats`` keep its seconds per stage and counts only. Upgrading moves
each ``hear_read`` item's ``stats["cuts"]`` onto its clip's row by value; downgrading moves them
back.

SQLite: the column is added and dropped in place (3.35+); ``clips`` is never copied (moments
reference it, and dropping it would cascade).

Revision ID: 0007_clip_scene_cuts
Revises: 0006_takeovers_questions_mtime
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_clip_scene_cuts"
down_revision = "0006_takeovers_questions_mtime"
branch_labels = None
depends_on = None

ITEMS = sa.table("work_items", sa.column("id", sa.Integer()), sa.column("video_id", sa.Integer()),
                 sa.column("clip_index", sa.Integer()), sa.column("part", sa.String()), sa.column("stats", sa.JSON()))
CLIPS = sa.table("clips", sa.column("id", sa.Integer()), sa.column("video_id", sa.Integer()),
                 sa.column("index", sa.Integer()), sa.column("scene_cuts", sa.JSON()))


def _hear_read_items(bind: sa.Connection) -> list[Any]:
    return list(bind.execute(sa.select(ITEMS.c.id, ITEMS.c.video_id, ITEMS.c.clip_index, ITEMS.c.stats).where(
        ITEMS.c.part == "hear_read", ITEMS.c.clip_index >= 0)))


def upgrade() -> None:
    op.add_column("clips", sa.Column("scene_cuts", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for item_id, video_id, clip_index, stats in _hear_read_items(bind):
        if not isinstance(stats, dict) or "cuts" not in stats:
            continue
        bind.execute(sa.update(CLIPS).where(CLIPS.c.video_id == video_id, CLIPS.c.index == clip_index)
                     .values(scene_cuts=stats["cuts"]))
        bind.execute(sa.update(ITEMS).where(ITEMS.c.id == item_id)
                     .values(stats={k: v for k, v in stats.items() if k != "cuts"}))


def downgrade() -> None:
    bind = op.get_bind()
    cuts = {(video_id, index): value for video_id, index, value in bind.execute(
        sa.select(CLIPS.c.video_id, CLIPS.c.index, CLIPS.c.scene_cuts))}
    for item_id, video_id, clip_index, stats in _hear_read_items(bind):
        value = cuts.get((video_id, clip_index))
        if value is not None:
            bind.execute(sa.update(ITEMS).where(ITEMS.c.id == item_id)
                         .values(stats={**(stats if isinstance(stats, dict) else {}), "cuts": value}))
    op.execute("ALTER TABLE clips DROP COLUMN scene_cuts")
