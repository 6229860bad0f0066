"""full-text search over moments (SQLite FTS5 / PostgreSQL GIN tsvector); stored questions

Revision ID: 0003_search
Revises: 0002_work_ledger
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from video_qa.models import UTCDateTime

revision = "0003_search"
down_revision = "0002_work_ledger"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE moments_fts USING fts5(text, content='moments', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER moments_fts_ai AFTER INSERT ON moments BEGIN "
    "INSERT INTO moments_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER moments_fts_ad AFTER DELETE ON moments BEGIN "
    "INSERT INTO moments_fts(moments_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER moments_fts_au AFTER UPDATE OF text ON moments BEGIN "
    "INSERT INTO moments_fts(moments_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO moments_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO moments_fts(moments_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS moments_fts_au",
    "DROP TRIGGER IF EXISTS moments_fts_ad",
    "DROP TRIGGER IF EXISTS moments_fts_ai",
    "DROP TABLE IF EXISTS moments_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.execute("CREATE INDEX ix_moments_text_tsv ON moments USING GIN (to_tsvector('english', text))")
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("moments", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name=op.f("fk_questions_video_id_videos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    op.create_index(op.f("ix_questions_video_id"), "questions", ["video_id"])


def downgrade() -> None:
    op.drop_table("questions")
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_moments_text_tsv")
