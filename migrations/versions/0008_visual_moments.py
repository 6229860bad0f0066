"""Visual moments: the moment kind ``visual``, the ledger part ``look`` and ``visual_embeddings``.

``visual_embeddings`` (moment_id, model, dim, embedding) holds a visual moment's image embedding
in its own vector space (its dimension differs from the text embeddings'). The CHECK constraints
on ``moments.kind`` and ``work_items.part`` gain the new values.

SQLite: a CHECK constraint cannot be altered, and copying ``moments`` (batch mode) would drop its
full-text triggers and, with foreign keys on, cascade into its embeddings. The constraint's text is
therefore replaced in the schema table (``PRAGMA writable_schema``, the procedure SQLite documents
for changing CHECK constraints, which does not touch the rows) and the schema version bumped so
every connection reads it again. PostgreSQL: the constraints are dropped and added.

Downgrading deletes the visual moments (their embeddings go with them) and the ``look`` items.

Revision ID: 0008_visual_moments
Revises: 0007_clip_scene_cuts
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_visual_moments"
down_revision = "0007_clip_scene_cuts"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('event', 'speech', 'text', 'chapter')"
NEW_KINDS = "kind IN ('event', 'speech', 'text', 'chapter', 'visual')"
OLD_PARTS = "part IN ('ingest', 'hear_read', 'see', 'finalize')"
NEW_PARTS = "part IN ('ingest', 'hear_read', 'see', 'look', 'finalize')"
CHECKS = (("moments", "ck_moments_kind", OLD_KINDS, NEW_KINDS), ("work_items", "ck_work_items_part", OLD_PARTS, NEW_PARTS))


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, new)
        return
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}).scalar()
    if sql is None or sql.count(old) != 1:
        raise RuntimeError(f"{table}: the CHECK constraint {name} is not {old!r}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
                 {"sql": sql.replace(old, new), "t": table})
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def upgrade() -> None:
    for table, name, old, new in CHECKS:
        _replace_check(table, name, old, new)
    op.create_table(
        "visual_embeddings",
        sa.Column("moment_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["moment_id"], ["moments.id"], ondelete="CASCADE",
                                name=op.f("fk_visual_embeddings_moment_id_moments")),
        sa.PrimaryKeyConstraint("moment_id", name=op.f("pk_visual_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("visual_embeddings")
    op.execute("DELETE FROM moments WHERE kind = 'visual'")
    op.execute("DELETE FROM work_items WHERE part = 'look'")
    for table, name, old, new in CHECKS:
        _replace_check(table, name, new, old)
