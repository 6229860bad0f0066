"""Moments' text embeddings, filled in place before they are stored."""

from __future__ import annotations

from model.protocols import TextEmbedder
from video_qa.moments.values import NewMoment


def embed_moments(moments: list[NewMoment], embedder: TextEmbedder | None, texts: list[str] | None = None) -> None:
    """Fill each moment's embedding (``embedder`` None: leave them empty), of its text or of
    ``texts`` (one a moment) where given."""
    if embedder is None or not moments:
        return
    vectors = embedder.encode([m.text for m in moments] if texts is None else texts)
    for moment, vector in zip(moments, vectors, strict=True):
        moment.embedding = vector
