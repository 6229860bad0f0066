"""Ask a question about one video: retrieve its best moments, look at those spans again at a
higher frame rate, and let the vision-language model answer with citations in absolute time.

1. ``retrieve`` (inside a unit of work): ``search`` inside the video gives the best hits; each hit
   is taken apart into the moment rows behind it (``Hit.moment_ids``), and a hit lists only the
   moments that match the question on their own (its words, else the closest embedding), each
   with its **own** start and end: a precise moment is never stretched over the unrelated
   neighbours search merged it with.
2. Each retrieved precise moment that contains a word of the question (else each retrieved one)
   becomes a span padded by ``PAD`` seconds, clamped to the video, overlapping spans merged, at
   most ``max_spans`` (best first, then shown in time order). A span remembers its best matching
   moment (the best ranked moment that made it); a moment that matched no word never widens it.
3. ``answer`` (no database session held: generation takes seconds to minutes): each span is read
   again with exact frames at ``ASK_FPS`` (a rate of the 4/k ladder), sized so that all spans
   together stay within ``VIDEOQA_MAX_CLIP_TOKENS`` visual tokens. The model gets every span as
   its own video input with its own fps and a label of its absolute start, plus what was said and
   shown in those spans; it cites ``[span N, X to Y seconds]``.
4. Citations keep their own time: ``X``/``Y`` are seconds from span N's first frame; the cited
   interval is clamped to **that span** (never just to the video). A citation given as 0-0, or
   lying outside its span, cites the span's best matching moment by that moment's own start and
   end instead (and says so in the notes).

A question that names on-screen text ("What is the caption about?", "what does the sign say":
``TEXT_WORDS``) asks about the video's text moments, whose words are not in it: when the search
retrieves none, its other content words are searched among the text moments alone, and where that
finds none (or there are no other words) the video's text moments are taken in time order
(``named_text``); each counts as matching the word that named it.

Without a vision-language model the answer is **extractive** and says so: the sentences said,
the on-screen text and the shot labels (kind ``visual``) of the retrieved moments that contain a
word of the question (else the best one found by meaning), each with its time, in the answer's
text and as its citations, in time order. Storing the question and its answer (``Question``), and where the model runs
(in this process or a worker of the ``gpu`` queue), is ``video_qa.services.questions``'s job.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from model.protocols import TextEmbedder, VisionLanguageModel
from model.parse import parse_citations
from model.vlm import Span
from video_qa.analysis.summary import sentences
from video_qa.config import Settings
from video_qa.media.frames import read_frames
from video_qa.media.plan import MIN_FRAMES, ClipPlan, frame_count, frame_size, tokens_for
from video_qa.media.probe import Probe
from video_qa.models import Moment, MomentEmbedding, MomentKind, Video, VideoStatus
from video_qa.moments.values import EMBEDDING_DTYPE
from video_qa.search import STOPWORDS, Filters, Hit, highlights, search, stem, uncertainty, words
from video_qa.timecode import format_time

log = logging.getLogger(__name__)

PAD = 3.0
ASK_FPS = 2.0
MAX_SPANS = 3
MAX_SPAN_SECONDS = 60.0
EXTRACT_MAX = 4  # moments quoted in an extractive answer
EXTRACTIVE = "Extractive answer (quoted from the video; no vision-language model wrote it):"
NO_MODEL = ("No vision-language model is configured (VIDEOQA_VLM_MODEL, needs a GPU), so the answer quotes the "
            "matching moments instead of writing one.")
NO_MODEL_NO_MATCH = ("No vision-language model is configured (VIDEOQA_VLM_MODEL, needs a GPU), and no moment of this "
                     "video matches the question.")
NO_MODEL_ONLY_CHAPTERS = ("No vision-language model is configured (VIDEOQA_VLM_MODEL, needs a GPU), and nothing said, "
                          "shown or seen in this video matches the question; only the chapters listed are near it.")
SAID_AS = {MomentKind.speech.value: "said", MomentKind.text.value: "on screen", MomentKind.event.value: "seen",
           MomentKind.visual.value: "seen"}
TEST_MODEL_NOTE = "a tiny random-weight test model wrote this answer: its text is meaningless"
# words of a question that name on-screen text, by stem: the question asks about the text moments
TEXT_WORDS = frozenset(stem(w) for w in (
    "caption", "subtitle", "sign", "slide", "title", "banner", "headline", "text", "written", "writing", "screen"))


@dataclass
class AskResult:
    question_id: int | None
    answer: str | None
    model: str | None
    test_model: bool
    moments: list[dict[str, Any]]  # each: start, end, text, kind, source ('cited' or 'retrieved')
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "answer": self.answer, "model": self.model,
                "test_model": self.test_model, "moments": self.moments, "notes": self.notes}


@dataclass(frozen=True)
class Retrieved:
    """One moment of the video by its own time, as it matched the question."""

    moment_id: int
    start: float
    end: float
    kind: str
    text: str
    score: float  # the search score of the hit it came from
    matched: int = 0  # words of the question it contains (stop words aside)
    start_uncertainty: float = 0.0  # seconds the moment may have begun earlier / ended later (its meta)
    end_uncertainty: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "start_uncertainty": self.start_uncertainty,
                "end_uncertainty": self.end_uncertainty, "kind": self.kind, "text": self.text,
                "source": "retrieved", "score": round(self.score, 6), "moment_id": self.moment_id}


class AskSpan(NamedTuple):
    """A stretch of the video shown to the model, and the best matching moment inside it."""

    start: float
    end: float
    best: Any = None  # a Retrieved (or anything with start/end/text); None for a span no moment made


@dataclass
class Prepared:
    """Everything ``answer`` needs, read in one unit of work, so generation holds no session."""

    video_id: int
    path: str
    status: str
    probe: dict[str, Any] | None
    duration: float | None
    question: str
    retrieved: list[Retrieved]
    spans: list[AskSpan]
    context: str


def _similarity(session: Session, embedder: TextEmbedder | None, question: str, ids: list[int]) -> dict[int, float]:
    """Cosine of the question's embedding with each stored moment embedding (empty without an embedder)."""
    if embedder is None or not ids:
        return {}
    query = np.asarray(embedder.encode_query(question), dtype=np.float32)
    rows = session.execute(select(MomentEmbedding.moment_id, MomentEmbedding.embedding)
                           .where(MomentEmbedding.moment_id.in_(ids))).all()
    scores = {}
    for moment_id, blob in rows:
        vector = np.frombuffer(blob, dtype=EMBEDDING_DTYPE).astype(np.float32)
        norm = float(np.linalg.norm(vector) * np.linalg.norm(query)) or 1.0
        scores[moment_id] = float(vector @ query) / norm
    return scores


def own_moments(session: Session, hits: list[Hit], question: str, embedder: TextEmbedder | None, limit: int) -> list[Retrieved]:
    """The moments behind ``hits``, each by its own start and end, best first.

    Within a hit, moments that contain a word of the question come first (most matched words
    first), then by embedding similarity; a hit lists only its word-matching moments, or its single
    closest one when none has a matching word (a hit found by meaning)."""
    ids = list(dict.fromkeys(i for h in hits for i in (h.moment_ids or [])))
    rows = {m.id: m for m in session.scalars(select(Moment).where(Moment.id.in_(ids)))} if ids else {}
    query_words = [w for w in words(question) if w not in STOPWORDS]
    similarity = _similarity(session, embedder, question, ids)

    def matched(m: Moment) -> int:  # the moment's words that match one of the question's, by stem
        return len(highlights(m.text, query_words))

    out: list[Retrieved] = []
    seen: set[int] = set()
    for hit in hits:
        own = [rows[i] for i in dict.fromkeys(hit.moment_ids or []) if i in rows and i not in seen]
        if not own:
            continue
        own.sort(key=lambda m: (-matched(m), -similarity.get(m.id, 0.0), m.end - m.start, m.start))
        chosen = [m for m in own if matched(m) > 0] or own[:1]
        for m in chosen:
            seen.add(m.id)
            out.append(Retrieved(m.id, m.start, m.end, m.kind, m.text, hit.score, matched(m),
                                 uncertainty(m.meta, "start_uncertainty"), uncertainty(m.meta, "end_uncertainty")))
    return out[:limit]


def _text_rows(session: Session, video_id: int, limit: int) -> list[Moment]:
    return list(session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == MomentKind.text.value)
                                .order_by(Moment.start, Moment.id).limit(limit)))


def named_text(session: Session, engine: Engine, video_id: int, question: str, embedder: TextEmbedder | None,
               limit: int) -> list[Retrieved]:
    """The text moments a question naming on-screen text asks about (``TEXT_WORDS``; [] for a
    question that names none): those its other content words find among the text moments, else the
    video's text moments in time order; each counts the naming words among its matched ones."""
    content = [w for w in words(question) if w not in STOPWORDS]
    naming = [w for w in content if stem(w) in TEXT_WORDS]
    if not naming:
        return []
    rest = " ".join(w for w in content if stem(w) not in TEXT_WORDS)
    found: list[Retrieved] = []
    if rest:
        hits = search(session, engine, rest, embedder, Filters(video_id=video_id, kinds=(MomentKind.text.value,)),
                      limit=limit)
        found = own_moments(session, hits, rest, embedder, limit)
    if not found:
        found = [Retrieved(m.id, m.start, m.end, m.kind, m.text, 0.0, 0, uncertainty(m.meta, "start_uncertainty"),
                           uncertainty(m.meta, "end_uncertainty")) for m in _text_rows(session, video_id, limit)]
    return [dataclasses.replace(r, matched=r.matched + len(naming)) for r in found]


def spans_for(moments: list[Retrieved], duration: float, max_spans: int = MAX_SPANS, pad: float = PAD) -> list[AskSpan]:
    """Padded, clamped spans of the best moments, in time order; each keeps the best ranked moment
    that made it. Moments containing a word of the question make the spans when there are any (the
    others would only take the token budget from them). A later moment overlapping a span widens
    it only when it matched a word itself: an unrelated neighbour never stretches a span."""
    wanted = [m for m in moments if m.matched > 0] or moments
    spans: list[AskSpan] = []
    for moment in wanted:
        start, end = max(0.0, moment.start - pad), min(duration, moment.end + pad)
        if end - start > MAX_SPAN_SECONDS:  # a long moment: look at its beginning
            end = start + MAX_SPAN_SECONDS
        overlap = next((i for i, s in enumerate(spans) if start <= s.end and end >= s.start), None)
        if overlap is not None:
            a, b, best = spans[overlap]
            if moment.matched > 0:
                merged_start = min(a, start)
                spans[overlap] = AskSpan(merged_start, min(max(b, end), merged_start + MAX_SPAN_SECONDS), best)
        elif len(spans) < max_spans:
            spans.append(AskSpan(start, end, moment))
    return sorted(spans, key=lambda s: (s.start, s.end))


def span_plans(spans: list[AskSpan] | list[tuple[float, float]], probe: Probe, settings: Settings) -> list[ClipPlan]:
    """Exact-frame sampling of each span at ``ASK_FPS`` within the shared token budget."""
    budget = settings.max_clip_tokens // max(1, len(spans))
    plans = []
    for i, span in enumerate(spans):
        start, end = span[0], span[1]
        fps = ASK_FPS
        frames = frame_count(end - start, fps, settings.max_frames_per_clip)
        pixels = settings.max_pixels
        width, height = frame_size(probe.width, probe.height, pixels, settings.min_pixels, settings.max_pixels)
        while tokens_for(frames, width, height) > budget and (width * height > settings.min_pixels or frames > MIN_FRAMES):
            if width * height > settings.min_pixels:
                pixels = width * height * 0.8
                width, height = frame_size(probe.width, probe.height, pixels, settings.min_pixels, settings.max_pixels)
            else:
                fps /= 2
                frames = frame_count(end - start, fps, settings.max_frames_per_clip)
        tokens = tokens_for(frames, width, height)
        plans.append(ClipPlan(index=i, start=start, end=end, fps=fps, frames=frames, width=width, height=height,
                              tokens=tokens, budget=budget, activity=1.0, why=f"ask span at {fps:g} fps"))
    return plans


def _context(session: Session, video_id: int, spans: list[AskSpan]) -> str:
    lines = []
    for span in spans:
        rows = session.scalars(select(Moment).where(
            Moment.video_id == video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]),
            Moment.start <= span.end, Moment.end >= span.start).order_by(Moment.start)).all()
        for m in rows:
            label = "said" if m.kind == MomentKind.speech.value else "on screen"
            lines.append(f"[{format_time(m.start)}] ({label}) {m.text}")
    return "\n".join(dict.fromkeys(lines))


def retrieve(session: Session, engine: Engine, video_id: int, question: str, embedder: TextEmbedder | None,
             limit: int = 8) -> Prepared:
    """The moments and spans for ``question`` (raises LookupError for a missing video, ValueError
    for an empty question). Reads only; the caller's unit of work may end right after."""
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    hits = search(session, engine, question, embedder, Filters(video_id=video_id), limit=limit)
    retrieved = own_moments(session, hits, question, embedder, limit)
    if not any(r.kind == MomentKind.text.value for r in retrieved):
        text = named_text(session, engine, video_id, question, embedder, limit)
        retrieved = (text + [r for r in retrieved if r.moment_id not in {t.moment_id for t in text}])[:limit]
    duration = video.duration or (Probe.from_dict(video.probe).duration if video.probe else 0.0)
    precise = [r for r in retrieved if r.kind != MomentKind.chapter.value]  # chapters span whole stretches
    spans = spans_for(precise or retrieved, duration)
    if not spans:  # nothing matched: look at the beginning of the video
        spans = [AskSpan(0.0, min(duration, MAX_SPAN_SECONDS), None)]
    return Prepared(video.id, video.path, video.status, video.probe, duration, question, retrieved, spans,
                    _context(session, video.id, spans))


def cite(span: AskSpan, shown_from: float, rel_start: float, rel_end: float) -> tuple[float, float, bool]:
    """A citation of ``span`` given in seconds from its first shown frame (``shown_from``), in
    video time and clamped to the span; ``(start, end, fell_back)``. 0-0, or an interval outside
    the span, cites the span's best matching moment by its own start and end."""
    start, end = shown_from + min(rel_start, rel_end), shown_from + max(rel_start, rel_end)
    outside = end < span.start or start > span.end
    if (rel_start == 0.0 and rel_end == 0.0) or outside:
        if span.best is not None:
            return span.best.start, span.best.end, True
        start = end = span.start
        return start, end, True
    start = min(max(start, span.start), span.end)
    return start, min(max(end, start), span.end), False


def quote(moment: Retrieved, question: str) -> str:
    """What ``moment`` says that answers ``question``: a speech moment's sentences holding a word
    of it (all of them when none does), other kinds their whole text."""
    text = " ".join(moment.text.split())
    if moment.kind != MomentKind.speech.value:
        return text
    query_words = [w for w in words(question) if w not in STOPWORDS]
    hit = [s for s in sentences(text) if highlights(s, query_words)]
    return " ".join(hit) or text


def extractive(prepared: Prepared) -> tuple[str, list[dict[str, Any]]]:
    """(answer text, citations) quoted from the retrieved moments that contain a word of the
    question (else the best one), chapters aside, at most ``EXTRACT_MAX``, in time order."""
    precise = [r for r in prepared.retrieved if r.kind in SAID_AS]
    chosen = [r for r in precise if r.matched > 0][:EXTRACT_MAX] or precise[:1]
    if not chosen:
        return (NO_MODEL_ONLY_CHAPTERS if prepared.retrieved else NO_MODEL_NO_MATCH), []
    cited, lines = [], [EXTRACTIVE]
    for r in sorted(chosen, key=lambda r: (r.start, r.end)):
        words_ = quote(r, prepared.question)
        lines.append(f"{format_time(r.start)} {SAID_AS[r.kind]}: {words_}")
        cited.append({**r.to_dict(), "text": words_, "source": "cited"})
    return "\n".join(lines), cited


def answer(prepared: Prepared, settings: Settings, vlm: VisionLanguageModel | None) -> AskResult:
    """The model's answer over the prepared spans (without a model, ``extractive``); touches no
    database."""
    retrieved = [r.to_dict() for r in prepared.retrieved]
    if vlm is None:
        text, cited = extractive(prepared)
        quoted = {m["moment_id"] for m in cited}
        rest = [m for m in retrieved if m["moment_id"] not in quoted]  # a quoted moment is listed once
        return AskResult(None, text, None, False, cited + rest, [NO_MODEL if cited else text])
    if prepared.probe is None or prepared.status != VideoStatus.ready.value:
        matches = "these are the best matching moments" if retrieved else "no moment matches the question yet"
        note = f"video {prepared.video_id} is not ready ({prepared.status}); {matches}."
        return AskResult(None, None, None, False, retrieved, [note])
    probe = Probe.from_dict(prepared.probe)
    notes: list[str] = []
    inputs: list[Span] = []
    shown: list[AskSpan] = []  # the span behind each model input (a span with no decodable frame is left out)
    for span, plan in zip(prepared.spans, span_plans(prepared.spans, probe, settings)):
        frames = read_frames(prepared.path, plan, probe, prefer=settings.frame_reader)
        notes += frames.notes
        if frames.frames:
            inputs.append(Span(frames.images, plan.fps, frames.times[0]))
            shown.append(span)
    if not inputs:
        return AskResult(None, None, vlm.name, vlm.is_test_model, retrieved, notes + ["no decodable frame in the spans"])
    reply = vlm.answer(prepared.question, inputs, prepared.context)
    # the model's own span-relative times, unclamped: cite() decides what lies outside a span (the
    # model's mapping clamps to the span's length or drops; its notes on citations are replaced)
    relative, parse_notes = parse_citations(reply.raw, [None] * len(inputs))  # type: ignore[list-item]
    notes += dict.fromkeys([n for n in reply.notes if not n.startswith("citation of span")] + parse_notes)
    cited = []
    for c in relative:
        start, end, fell_back = cite(shown[c.span - 1], inputs[c.span - 1].start, c.start, c.end)
        if fell_back:
            notes.append(f"citation of span {c.span} at {c.start:g}-{c.end:g} s is not a moment of that span; "
                         f"cited the span's best matching moment ({format_time(start)}) instead")
        cited.append({"start": start, "end": end, "kind": "cited", "text": f"span {c.span}", "source": "cited"})
    if vlm.is_test_model:
        notes.append(TEST_MODEL_NOTE)
    return AskResult(None, reply.text, reply.model, vlm.is_test_model, cited + retrieved, notes)

