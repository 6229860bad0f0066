"""Search over every moment of the archive: full text (``fulltext``) and vectors (``index``: the text
space and a visual space per image model) under one ``Filters``, fused by rank with a relevance floor
(``fusion``) into hits that keep their own times (``hits``); ``query`` (words, stems, highlights),
``service`` (``search``). A query never writes the index. Details: docs/search.md."""

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
