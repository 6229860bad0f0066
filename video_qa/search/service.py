"""The search use case: the full-text query beside the query's embeddings (the text space's and,
with an image-text model, the visual space's), fusion, the rows."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from model.protocols import TextEmbedder
from video_qa.models import Moment, Video
from video_qa.search.filters import Filters
from video_qa.search.fulltext import text_matches
from video_qa.search.fusion import fuse, merge_adjacent, relevant, relevant_visual
from video_qa.search.hits import KINDS, Hit, uncertainty
from video_qa.search.index.query import similarities
from video_qa.search.index.registry import vector_candidates
from video_qa.search.index.space import visual_space
from video_qa.search.query import highlights, words
from video_qa.search.words.registry import words_index

log = logging.getLogger(__name__)

# The full-text query's work is the database's (PostgreSQL's server process, or SQLite's C code,
# which releases the GIL), the embedding and the vector product are this process's: on a session
# that has no transaction open, the text query runs on its own connection in a helper thread while
# this thread embeds the query and searches the vectors. A session inside a transaction keeps the
# text query on itself (it may hold writes of its own that another connection would not see: no
# process-wide hook tracks writes), as does an in-memory SQLite database (another connection is
# another database). The front ends search from a unit of work that has done nothing else yet.
# The visual query's text tower (an image-text model, much larger than the text embedder) runs in
# a helper thread too, beside the text embedding and the text space's probe (ONNX Runtime releases
# the GIL): the search waits for the longer of the two, not their sum.

_text_pool: ThreadPoolExecutor | None = None
_visual_pool: ThreadPoolExecutor | None = None
_text_pool_lock = threading.Lock()


def _own_connection_sees_all(session: Session, engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return False
    if session.get_bind() is not engine:
        return False
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def _text_alone(engine: Engine, query_words: list[str], filters: Filters) -> tuple[list[int], list[int]]:
    with Session(engine) as own:
        return text_matches(own, query_words, filters, any_word=False, index=words_index(engine))


def _text_meanwhile(session: Session, engine: Engine, query_words: list[str], filters: Filters
                    ) -> Future[tuple[list[int], list[int]]] | None:
    """The text query started on its own connection, or None where it must run on ``session``."""
    global _text_pool
    if not _own_connection_sees_all(session, engine):
        return None
    with _text_pool_lock:
        if _text_pool is None:
            _text_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-text")
    return _text_pool.submit(_text_alone, engine, query_words, filters)


class QueryEncoder(Protocol):
    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,) float32, of unit length."""
        ...


@dataclass(frozen=True)
class VisualQuery:
    """A text query into the visual space: an image-text model's text tower (``embedder``) and the
    name under which its image vectors are stored (``model``: ``visual_embeddings.model``)."""

    model: str
    embedder: QueryEncoder


def _query_vector(embedder: QueryEncoder, query: str) -> np.ndarray:
    return embedder.encode_query(query)


def _image_query_meanwhile(visual: VisualQuery, query: str) -> Future[np.ndarray]:
    """The visual query's vector, started in a helper thread."""
    global _visual_pool
    with _text_pool_lock:
        if _visual_pool is None:
            _visual_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-visual")
    return _visual_pool.submit(_query_vector, visual.embedder, query)


def search(session: Session, engine: Engine, query: str, embedder: TextEmbedder | None = None, filters: Filters = Filters(),
           limit: int = 20, visual: VisualQuery | None = None) -> list[Hit]:
    """The best moments for ``query`` under ``filters``, merged and ranked (see module doc).
    ``visual``: the query is matched in the visual space too (its own floor: ``relevant_visual``)."""
    bad = [k for k in filters.kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown kind {bad[0]!r}; kinds are {', '.join(KINDS)}")
    query_words = words(query)
    any_word = embedder is None
    image_vector = _image_query_meanwhile(visual, query) if visual is not None and query.strip() else None
    pending = _text_meanwhile(session, engine, query_words, filters) if embedder is not None else None
    if pending is None:
        every, some = text_matches(session, query_words, filters, any_word=any_word, index=words_index(engine))
    vector = _query_vector(embedder, query) if embedder is not None and query.strip() else None
    # the vector part scores by the database's rows as they are now (exact re-ranking), so a
    # deleted or replaced moment never comes back from a stale index: no second pass is needed
    by_vector = vector_candidates(session, engine, vector, filters)
    by_image: list[tuple[int, float]] = []
    if image_vector is not None and visual is not None:
        by_image = vector_candidates(session, engine, image_vector.result(), filters, space=visual_space(visual.model))
    if pending is not None:  # waited for only now: the embedding and the probe ran meanwhile
        (every, some), pending = pending.result(), None
    scored = dict(by_vector)  # exact already; only the other text matches' rows are read again
    similarity = similarities(session, vector, [i for i in some if i not in scored]) if by_vector else {}
    matching = relevant(every, some, by_vector, similarity) | relevant_visual(by_image)
    scores = {i: s for i, s in fuse(every + some, [i for i, _ in by_vector], [i for i, _ in by_image]).items()
              if i in matching}
    if not scores:
        return []
    rows = session.execute(filters.apply(  # the rows as they are now, as this session sees them
        select(Moment.id, Moment.video_id, Video.title, Moment.start, Moment.end, Moment.kind, Moment.text, Moment.meta)
        .join(Video, Video.id == Moment.video_id).where(Moment.id.in_(list(scores))))
    ).all()
    hits = [Hit(r.video_id, r.title, r.start, r.end, r.kind, r.text, highlights(r.text, query_words), scores[r.id],
                [r.id], [r.kind], uncertainty(r.meta, "start_uncertainty"), uncertainty(r.meta, "end_uncertainty"))
            for r in rows]
    return merge_adjacent(hits)[:limit]
