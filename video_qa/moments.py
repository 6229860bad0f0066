"""Writing moments: a part's moments replace that part's earlier rows under the same keys.

Moments are keyed by (video_id, clip_index, kind, seq). ``replace_moments`` deletes the rows of
(video, clip, kind) and inserts the new list numbered from 0, inside the caller's transaction, so a
repeated or redelivered task leaves exactly the rows one run leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from video_qa.models import Moment, MomentEmbedding

EMBEDDING_DTYPE = np.float32


@dataclass
class NewMoment:
    start: float
    end: float
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    embedding: np.ndarray | None = None


def pack_embedding(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()


def embed_moments(moments: list[NewMoment], embedder: Any) -> None:
    """Fill each moment's embedding (``embedder`` None: leave them empty)."""
    if embedder is None or not moments:
        return
    vectors = embedder.encode([m.text for m in moments])
    for moment, vector in zip(moments, vectors):
        moment.embedding = vector


def replace_moments(
    session: Session, video_id: int, clip_id: int | None, clip_index: int, kind: str, moments: list[NewMoment]
) -> int:
    session.execute(
        delete(Moment).where(Moment.video_id == video_id, Moment.clip_index == clip_index, Moment.kind == kind)
    )
    ordered = sorted(moments, key=lambda m: (m.start, m.end, m.text))
    for seq, m in enumerate(ordered):
        start = max(0.0, float(m.start))
        session.add(Moment(
            video_id=video_id, clip_id=clip_id, clip_index=clip_index, kind=kind, seq=seq,
            start=start, end=max(start, float(m.end)), text=m.text, meta=m.meta or None,
            vector=None if m.embedding is None else MomentEmbedding(embedding=pack_embedding(m.embedding)),
        ))
    session.flush()
    return len(ordered)
