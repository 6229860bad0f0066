"""PostgreSQL: a stored tsvector column for moment text (ranking reads it instead of recomputing
to_tsvector for every matching row); its GIN index replaces the expression index. SQLite: nothing.

Revision ID: 0004_stored_tsvector
Revises: 0003_search
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004_stored_tsvector"
down_revision = "0003_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("ALTER TABLE moments ADD COLUMN text_tsv tsvector "
               "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED")
    op.execute("CREATE INDEX ix_moments_text_tsv_stored ON moments USING GIN (text_tsv)")
    op.execute("DROP INDEX IF EXISTS ix_moments_text_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE INDEX ix_moments_text_tsv ON moments USING GIN (to_tsvector('english', text))")
    op.execute("DROP INDEX IF EXISTS ix_moments_text_tsv_stored")
    op.execute("ALTER TABLE moments DROP COLUMN text_tsv")
