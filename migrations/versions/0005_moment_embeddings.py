"""Moment embeddings move to their own table, ``moment_embeddings`` (moment_id, embedding).

1.5 kB of float32 in every ``moments`` row made the rows ~17x wider than their text: at 1M
moments the table was ~2 GB on PostgreSQL and ranking 1,000 full-text matches read ~900 pages.
Without the column it is ~200 MB. Rows are copied over, then the column is dropped.

PostgreSQL keeps a dropped column's bytes in the rows already written until the table is
rewritten: after upgrading a large existing archive run ``VACUUM FULL moments;`` once (it locks
the table while it runs; docs/operations.md).

Revision ID: 0005_moment_embeddings
Revises: 0004_stored_tsvector
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_moment_embeddings"
down_revision = "0004_stored_tsvector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moment_embeddings",
        sa.Column("moment_id", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["moment_id"], ["moments.id"], ondelete="CASCADE",
                                name=op.f("fk_moment_embeddings_moment_id_moments")),
        sa.PrimaryKeyConstraint("moment_id", name=op.f("pk_moment_embeddings")),
    )
    op.execute("INSERT INTO moment_embeddings (moment_id, embedding) "
               "SELECT id, embedding FROM moments WHERE embedding IS NOT NULL")
    # SQLite (3.35+) drops a column in place; no batch copy, so the FTS triggers on moments stay.
    op.execute("ALTER TABLE moments DROP COLUMN embedding")


def downgrade() -> None:
    op.execute("ALTER TABLE moments ADD COLUMN embedding " +
               ("BLOB" if op.get_bind().dialect.name == "sqlite" else "BYTEA"))
    op.execute("UPDATE moments SET embedding = (SELECT e.embedding FROM moment_embeddings e "
               "WHERE e.moment_id = moments.id)")
    op.drop_table("moment_embeddings")
