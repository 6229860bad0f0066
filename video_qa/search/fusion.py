"""Relevance, rank fusion and merging of the moments a search found into hits."""

from __future__ import annotations

import dataclasses

from video_qa.models import MomentKind
from video_qa.search.hits import Hit
from video_qa.search.query import normalised

RRF_K = 60
MERGE_GAP = 2.0
MERGE_MAX_SECONDS = 30.0  # a merged hit never spans more (no chain of matches across a video)
VECTOR_FLOOR = 0.30  # cosine similarity a moment only the vectors found must reach (docs/search.md)
VECTOR_MARGIN = 0.15  # ... and how far below the query's best similarity it may lie
# text -> image (an image-text model's towers): LAION's cut-off for a matching image-caption pair
# with CLIP ViT-B/32 (docs/search.md), and a narrow margin (such scores bunch: 0.2-0.35)
VISUAL_FLOOR = 0.28
VISUAL_MARGIN = 0.06
CHAPTER_SLACK = 0.05  # seconds: a chapter "contains" a moment up to float rounding
JOINER = " … "  # between the texts of moments merged into one hit


def fuse(*ranked: list[int]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ids in ranked:
        for rank, moment_id in enumerate(ids, 1):
            scores[moment_id] = scores.get(moment_id, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def relevant(every_word: list[int], some_words: list[int], by_vector: list[tuple[int, float]],
             similarity: dict[int, float] | None = None, floor: float = VECTOR_FLOOR,
             margin: float = VECTOR_MARGIN) -> set[int]:
    """The candidates that match the query on their own merit:

    - every full-text match of the whole query (``every_word``: each of its words);
    - a moment holding only some of the words (``some_words``) whose embedding is at least
      ``floor`` similar to the query's (``similarity``; one with no known similarity, or every one
      when there is no query vector, passes: the words are all there is to judge by);
    - a moment only the vectors found (``by_vector``, with its similarity) that reaches ``floor``
      and lies within ``margin`` of the best similarity: a vector neighbour at the bottom of the
      list is not a match."""
    best = max((s for _, s in by_vector), default=0.0)
    cut = max(floor, best - margin)
    known = {**(similarity or {}), **dict(by_vector)}
    some = {i for i in some_words if not by_vector or known.get(i, floor) >= floor}
    return set(every_word) | some | {moment_id for moment_id, s in by_vector if s >= cut}


def relevant_visual(by_image: list[tuple[int, float]], floor: float = VISUAL_FLOOR,
                    margin: float = VISUAL_MARGIN) -> set[int]:
    """The moments the visual space found (with their text-to-image similarity) that reach
    ``floor`` and lie within ``margin`` of the best one: the visual space's own floor, since an
    image-text model's similarities lie on another scale than the text embedder's."""
    best = max((s for _, s in by_image), default=0.0)
    cut = max(floor, best - margin)
    return {moment_id for moment_id, s in by_image if s >= cut}


def merge_adjacent(hits: list[Hit], gap: float = MERGE_GAP, max_seconds: float = MERGE_MAX_SECONDS) -> list[Hit]:
    """Hits of one video and one kind that overlap or lie less than ``gap`` seconds apart become one: their
    union in time (no second more), best score and kind, joined text (each highlight moved with the
    text it points into), all moments and kinds. A merged hit never grows past ``max_seconds``: the
    next match starts a hit of its own.

    Every hit given must match the query on its own (``search`` passes only ``relevant`` ones), so
    no unrelated neighbour can stretch a hit. Chapters span whole stretches: they never merge (see
    ``collapse_chapters``). Kinds never merge with each other: a sentence said while a slide is
    shown keeps its own time (the slide's hit would otherwise seek to the slide's start). The hits
    given are left as they were."""
    merged: list[Hit] = []
    last_of: dict[tuple[int, str], Hit] = {}
    for hit in sorted(hits, key=lambda h: (h.video_id, h.start, h.end)):
        hit = dataclasses.replace(hit, moment_ids=list(hit.moment_ids), kinds=list(hit.kinds),
                                  highlights=list(hit.highlights), parts=list(hit.own_parts()))
        if hit.kind == MomentKind.chapter.value:
            merged.append(hit)
            continue
        last = last_of.get((hit.video_id, hit.kind))
        if last is not None and hit.start <= last.end + gap and max(last.end, hit.end) - last.start <= max_seconds:
            _absorb(last, hit)
            continue
        merged.append(hit)
        last_of[(hit.video_id, hit.kind)] = hit
    return rank_hits(collapse_chapters(merged))


def _absorb(into: Hit, hit: Hit) -> None:
    """``hit`` (starting no earlier than ``into``) merged into ``into``."""
    if hit.start == into.start:
        into.start_uncertainty = max(into.start_uncertainty, hit.start_uncertainty)
    if hit.end > into.end:
        into.end, into.end_uncertainty = hit.end, hit.end_uncertainty
    elif hit.end == into.end:
        into.end_uncertainty = max(into.end_uncertainty, hit.end_uncertainty)
    if hit.text not in into.text:
        shift = len(into.text) + len(JOINER)  # ``hit``'s offsets now count from after the joiner
        into.text = f"{into.text}{JOINER}{hit.text}"
        into.highlights = into.highlights + [(s + shift, e + shift) for s, e in hit.highlights]
    if hit.score > into.score:
        into.kind = hit.kind
    into.score = max(into.score, hit.score)
    into.moment_ids += hit.moment_ids
    into.kinds = list(dict.fromkeys(into.kinds + hit.kinds))
    into.parts += hit.own_parts()


def same_sentence(chapter_text: str, text_: str) -> bool:
    """Equal once normalised; a title cut short with an ellipsis ("The budget is appr…") equals
    the sentence it starts."""
    title, words_ = normalised(chapter_text), normalised(text_)
    if not title:
        return False
    if title == words_:
        return True
    if not chapter_text.rstrip().endswith(("…", "...")) or len(title) > len(words_):
        return False
    return title[:-1] == words_[:len(title) - 1] and words_[len(title) - 1].startswith(title[-1])


def collapse_chapters(hits: list[Hit], slack: float = CHAPTER_SLACK) -> list[Hit]:
    """A chapter whose text is the same sentence as a precise hit of its video that it contains
    is that hit listed twice: it collapses into the precise hit, which keeps its own times, moments
    and kinds (a chapter's moment id among them would make ``ask`` cite the whole chapter) and
    takes the chapter's score if better."""
    precise = [h for h in hits if h.kind != MomentKind.chapter.value]
    kept: list[Hit] = []
    for hit in hits:
        if hit.kind == MomentKind.chapter.value:
            twin = next((p for p in precise if p.video_id == hit.video_id and any(
                hit.start - slack <= a and b <= hit.end + slack and same_sentence(hit.text, t)
                for a, b, t in p.own_parts())), None)
            if twin is not None:
                twin.score = max(twin.score, hit.score)
                continue
        kept.append(hit)
    return kept


def rank_hits(hits: list[Hit]) -> list[Hit]:
    """Best first; but a chapter never ranks above a precise hit (speech, text, event) of the same
    video that lies inside its span: the chapter only names the stretch the moment is in (its text
    is often that very sentence), so it follows the moment instead of taking the click."""
    precise = [h for h in hits if h.kind != MomentKind.chapter.value]

    def key(h: Hit) -> tuple[float, int, int, float]:
        if h.kind == MomentKind.chapter.value:
            inside = [p.score for p in precise if p.video_id == h.video_id and h.start <= p.start < h.end]
            if inside:
                return (-min(h.score, max(inside)), 1, h.video_id, h.start)
            return (-h.score, 1, h.video_id, h.start)
        return (-h.score, 0, h.video_id, h.start)

    return sorted(hits, key=key)

