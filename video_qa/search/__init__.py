"""Search over every moment of the archive: full text and vector similarity, fused by rank.

Full text: SQLite FTS5 (porter stemming) or PostgreSQL's stored ``text_tsv`` column
(``to_tsvector('english', text)``, generated) with its GIN index (migrations 0003, 0004). A user's query never reaches either engine as syntax: it is cut into
words and each word is quoted (FTS5) or passed as a plain lexeme, so quotes, ``*``, ``NEAR`` or
SQL come back as results or nothing, never as an error.

Vectors: the moments' embeddings (``video_qa.moments``) in a faiss IVF-PQ index persisted per
database in the index folder (``Settings.index_dir``) and memory-mapped, so the processes of a
machine share one copy through the page cache; rows written since its last generation are read
from the database before each query and searched exactly; the best candidates are re-ranked by
their exact cosine from the database, so a deleted or replaced moment never comes back. A query
never writes: a background writer folds new rows into a new generation (temporary files, fsync,
atomic rename), and ``videoqa reindex`` rebuilds it (``index``, docs/search-index.md). (pgvector
is not used: the extension is not installed on the servers this was built and tested on.)

Two vector spaces (``index.space``): the text space (every moment's text embedding) and the visual
space (visual moments' image vectors, one space per image model). With an image-text model
(``VisualQuery``: its text tower) a text query is matched in both, each with its own floor.

Relevance (``relevant``): every full-text match counts; a moment only the vectors found counts when
its cosine similarity reaches ``VECTOR_FLOOR`` and lies within ``VECTOR_MARGIN`` of the query's best
similarity (calibrated on the evaluation set in ``tests/factories/moments.py``; docs/search.md); a
moment the visual space found counts when it reaches ``VISUAL_FLOOR`` and lies within
``VISUAL_MARGIN`` of the best (``relevant_visual``).
Everything else is dropped, so a query that matches nothing returns nothing.

Fusion: reciprocal rank, ``sum(1 / (60 + rank))`` over the lists (full text, each space). Hits keep their own times:
only matching moments of one video that overlap or lie less than ``MERGE_GAP`` seconds apart merge,
into their union, never longer than ``MERGE_MAX_SECONDS`` (``merge_adjacent``). A chapter saying the
same sentence as a precise hit it contains collapses into that hit (``collapse_chapters``); any
other chapter ranks after the precise hits of its video inside its span (``rank_hits``).

The package by role: ``query`` (a query's words, their stems, and where a text matches them as
highlight offsets), ``filters`` (what a search is limited to, applied to each statement),
``fulltext`` (the two engines' full-text queries), ``index`` (the vector index, a package by role),
``fusion`` (relevance, rank fusion, merging of hits), ``hits`` (what a search gives) and ``service``
(the use case, ``search``). The names the rest of the project uses are re-exported here.
"""

from video_qa.search.fulltext import TEXT_RANK_CAP, text_matches
from video_qa.search.fusion import (MERGE_GAP, MERGE_MAX_SECONDS, VECTOR_FLOOR, VECTOR_MARGIN, VISUAL_FLOOR,
                                    VISUAL_MARGIN, collapse_chapters, fuse, merge_adjacent, rank_hits, relevant,
                                    relevant_visual)
from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES, KINDS, Hit, uncertainty
from video_qa.search.index.live import VectorIndex
from video_qa.search.index.registry import release_vector_index, vector_index
from video_qa.search.query import STOPWORDS, highlights, stem, words
from video_qa.search.service import VisualQuery, search

__all__ = ["CANDIDATES", "KINDS", "MERGE_GAP", "MERGE_MAX_SECONDS", "STOPWORDS",
           "TEXT_RANK_CAP", "VECTOR_FLOOR", "VECTOR_MARGIN", "VISUAL_FLOOR", "VISUAL_MARGIN", "Filters", "Hit",
           "VectorIndex", "VisualQuery", "collapse_chapters", "fuse", "highlights", "merge_adjacent", "rank_hits",
           "relevant", "relevant_visual", "release_vector_index", "search", "stem", "text_matches", "uncertainty",
           "vector_index", "words"]
