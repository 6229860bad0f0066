"""Chapters from content, their titles, and which on-screen text is fit for titles and summaries.

Boundaries are where the content changes: a slide change (a long-lived text track starts as
another ends), a scene cut between two sampled frames (``scenes``), a title appearing on an empty
screen, or a long pause in speech. Every scene cut bounds a chapter (no chapter runs across one)
unless it follows another cut or a video end by under ``CUT_SHOT`` seconds; the other boundaries
make no chapter shorter than ``MIN_CHAPTER`` seconds. Titles: the chapter's most salient on-screen line (box height x seconds shown), else its
first spoken sentence, else the vision-language caption; never changing text (counters, clocks).
See docs/moments.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from video_qa.moments.values import NewMoment

MIN_CHAPTER = 20.0  # seconds, between boundaries other than scene cuts
CUT_SHOT = 6.0  # seconds: a cut this close after another cut or to a video end bounds no chapter
LONG_LIVED = 4.0  # seconds a text track must last to describe a slide
PAUSE = 5.0  # seconds of silence between two spoken segments that may start a chapter
SLIDE_LIVED = 10.0  # seconds text must last to make a slide change or a title (not a subtitle)
STRENGTH = {"slide": 4, "cut": 3, "title": 2, "pause": 1}
TITLE_LIMIT = 100


class MomentLike(Protocol):
    start: float
    end: float
    text: str
    meta: Any


def _r(x: float) -> float:
    return round(float(x), 3)


# ---- boundaries

@dataclass(frozen=True)
class Boundary:
    t: float
    uncertainty: float
    source: str  # slide, cut, title, pause

    @property
    def strength(self) -> int:
        return STRENGTH[self.source]


def usable_text(m: MomentLike) -> bool:
    """On-screen text fit for titles and summaries: not changing, at least three letters."""
    meta = m.meta or {}
    return not meta.get("changing") and sum(ch.isalpha() for ch in m.text) >= 3


def long_lived(text: Sequence[MomentLike]) -> list[MomentLike]:
    return [m for m in text
            if usable_text(m) and m.end - m.start >= LONG_LIVED and (m.meta or {}).get("samples", 2) >= 2]


def slide_changes(text: Sequence[MomentLike]) -> list[Boundary]:
    """A track of ``SLIDE_LIVED`` seconds or more that starts as another such one ends (within
    two samples): a slide change; one that starts where no long-lived text was showing just
    before: a title (weaker than a scene cut: a label appearing a little after a cut is the
    cut's chapter). Subtitles and short captions start neither."""
    lived = sorted(long_lived(text), key=lambda m: m.start)
    slides = [m for m in lived if m.end - m.start >= SLIDE_LIVED]
    out = []
    for y in slides:
        meta = y.meta or {}
        interval = float(meta.get("sample_interval", 2.0))
        unc = float(meta.get("start_uncertainty", interval))
        if y.start - unc <= 1e-6:
            continue  # shown from the start of the video
        before = y.start - unc  # the last sample that did not show it
        ended = any(x is not y and x.start < before and abs(x.end - y.start) <= 2 * interval for x in slides)
        empty = not any(x is not y and x.start < before and x.end > before for x in lived)
        if out and y.start - out[-1].t <= interval:  # a slide's lines start together
            continue
        if ended:
            out.append(Boundary(y.start, unc, "slide"))
        elif empty:
            out.append(Boundary(y.start, unc, "title"))
    return out


def speech_pauses(speech: Sequence[MomentLike]) -> list[Boundary]:
    ordered = sorted(speech, key=lambda m: m.start)
    return [Boundary(b.start, float((b.meta or {}).get("start_uncertainty", 0.25)), "pause")
            for a, b in zip(ordered, ordered[1:]) if b.start - a.end >= PAUSE]


def choose(candidates: Sequence[Boundary], duration: float, min_len: float = MIN_CHAPTER) -> list[Boundary]:
    """Every scene cut, in time order, at least ``CUT_SHOT`` from the video's ends and the cut
    taken before it (a chapter never runs across a cut); then the others strongest first (slide,
    title, pause; earlier first), each at least ``min_len`` from the video's ends and from every
    boundary already taken, except that a slide change needs only ``CUT_SHOT`` from a cut (both
    are hard changes of what is shown; closer, they are the same change)."""
    taken: list[Boundary] = []
    for b in sorted((c for c in candidates if c.source == "cut"), key=lambda b: b.t):
        if b.t >= CUT_SHOT and duration - b.t >= CUT_SHOT and (not taken or b.t - taken[-1].t >= CUT_SHOT):
            taken.append(b)
    for b in sorted((c for c in candidates if c.source != "cut"), key=lambda b: (-b.strength, b.t)):
        if b.t < min_len or duration - b.t < min_len:
            continue
        if all(abs(b.t - o.t) >= (CUT_SHOT if b.source == "slide" and o.source == "cut" else min_len) for o in taken):
            taken.append(b)
    return sorted(taken, key=lambda b: b.t)


# ---- titles

def first_sentence(text: str) -> str:
    return _clip(re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0])


def _clip(text: str, limit: int = TITLE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def title_for(a: float, b: float, text: Sequence[MomentLike], speech: Sequence[MomentLike],
              captions: Sequence[tuple[float, float, str]]) -> tuple[str, str]:
    """(title, where it came from) for the chapter [a, b)."""
    best, score = None, 0.0
    for m in text:
        if not usable_text(m):
            continue
        shown = min(m.end, b) - max(m.start, a)
        if shown <= 0:
            continue
        height = float((m.meta or {}).get("height", 0.05))
        if height * shown > score:
            best, score = m, height * shown
    if best is not None:
        return _clip(best.text), "text"
    for m in sorted(speech, key=lambda m: m.start):
        if a <= m.start < b and m.text.strip():
            return first_sentence(m.text), "speech"
    overlap = [(min(e, b) - max(s, a), c) for s, e, c in captions if c and min(e, b) > max(s, a)]
    if overlap:
        return _clip(max(overlap)[1]), "caption"
    return "(no speech or text)", "none"


def content_chapters(duration: float, text: Sequence[MomentLike], speech: Sequence[MomentLike],
                     cuts: Sequence[Sequence[float]], captions: Sequence[tuple[float, float, str]] = (),
                     min_len: float = MIN_CHAPTER) -> list[NewMoment]:
    """The video's chapters: ``text`` are its (stitched) text moments, ``speech`` its speech
    moments, ``cuts`` the hear_read parts' [[time, uncertainty]], ``captions`` (start, end,
    caption) per clip when a vision-language model ran."""
    candidates = slide_changes(text) + [Boundary(float(t), float(u), "cut") for t, u in cuts] + speech_pauses(speech)
    bounds = choose(candidates, duration, min_len)
    edges = [Boundary(0.0, 0.0, "start"), *bounds, Boundary(duration, 0.0, "end")]
    chapters: list[NewMoment] = []
    for left, right in zip(edges, edges[1:]):
        title, source = title_for(left.t, right.t, text, speech, captions)
        if chapters and source != "none" and left.source != "cut" and title == chapters[-1].text:
            chapters[-1].end = right.t
            chapters[-1].meta["end_uncertainty"] = _r(right.uncertainty)
            continue
        chapters.append(NewMoment(left.t, right.t, title, {
            "source": source, "boundary": left.source,
            "start_uncertainty": _r(left.uncertainty), "end_uncertainty": _r(right.uncertainty),
        }))
    return chapters
