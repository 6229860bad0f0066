"""Ask a question about one video: retrieve its best moments, look at those spans again at a
higher frame rate, and let the vision-language model answer with citations in absolute time.

1. ``search`` inside the video gives the best moments (text and vectors).
2. Each becomes a span padded by ``PAD`` seconds, clamped to the video, overlapping spans merged,
   at most ``max_spans`` (best first, then shown in time order).
3. Each span is read again with exact frames at ``ASK_FPS`` (a rate of the 4/k ladder), sized so
   that all spans together stay within ``VIDEOQA_MAX_CLIP_TOKENS`` visual tokens.
4. The model gets every span as its own video input with its own fps and a label of its absolute
   start, plus what was said and shown in those spans; it cites ``[span N, X to Y seconds]``,
   which ``model.vlm`` maps back to absolute time. Citations are clamped to the video.

Without a vision-language model, ask returns the best matching moments and says that no model
wrote an answer. Every question and answer is stored (``Question``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.media.frames import read_frames
from video_qa.media.plan import MIN_FRAMES, ClipPlan, frame_count, frame_size, tokens_for
from video_qa.media.probe import Probe
from video_qa.models import Moment, MomentKind, Question, Video
from video_qa.search import Filters, Hit, search
from video_qa.timecode import format_time

log = logging.getLogger(__name__)

PAD = 3.0
ASK_FPS = 2.0
MAX_SPANS = 3
MAX_SPAN_SECONDS = 60.0
NO_MODEL = "No vision-language model is configured (VIDEOQA_VLM_MODEL), so no answer was written; these are the best matching moments."


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


def spans_for(hits: list[Hit], duration: float, max_spans: int = MAX_SPANS, pad: float = PAD) -> list[tuple[float, float]]:
    """Padded, clamped, merged spans of the best hits, in time order."""
    spans: list[tuple[float, float]] = []
    for hit in hits:
        start, end = max(0.0, hit.start - pad), min(duration, hit.end + pad)
        if end - start > MAX_SPAN_SECONDS:  # a long merged hit: look at its beginning
            end = start + MAX_SPAN_SECONDS
        overlap = next((i for i, (a, b) in enumerate(spans) if start <= b and end >= a), None)
        if overlap is not None:
            a, b = spans[overlap]
            spans[overlap] = (min(a, start), min(max(b, end), min(a, start) + MAX_SPAN_SECONDS))
        elif len(spans) < max_spans:
            spans.append((start, end))
    return sorted(spans)


def span_plans(spans: list[tuple[float, float]], probe: Probe, settings: Settings) -> list[ClipPlan]:
    """Exact-frame sampling of each span at ``ASK_FPS`` within the shared token budget."""
    budget = settings.max_clip_tokens // max(1, len(spans))
    plans = []
    for i, (start, end) in enumerate(spans):
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


def _context(session: Session, video_id: int, spans: list[tuple[float, float]]) -> str:
    lines = []
    for a, b in spans:
        rows = session.scalars(select(Moment).where(
            Moment.video_id == video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]),
            Moment.start <= b, Moment.end >= a).order_by(Moment.start)).all()
        for m in rows:
            label = "said" if m.kind == MomentKind.speech.value else "on screen"
            lines.append(f"[{format_time(m.start)}] ({label}) {m.text}")
    return "\n".join(dict.fromkeys(lines))


def ask(session: Session, engine: Engine, settings: Settings, video_id: int, question: str, backends: Any,
        limit: int = 8) -> AskResult:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    hits = search(session, engine, question, backends.embedder, Filters(video_id=video_id), limit=limit)
    retrieved = [{"start": h.start, "end": h.end, "kind": h.kind, "text": h.text, "source": "retrieved",
                  "score": round(h.score, 6)} for h in hits]
    vlm = backends.vlm
    if vlm is None or video.probe is None or video.status != "ready":
        reason = NO_MODEL if vlm is None else f"video {video_id} is not ready ({video.status}); these are the best matching moments."
        result = AskResult(None, None, None, False, retrieved, [reason])
    else:
        result = _answer(session, settings, video, question, hits, vlm, retrieved)
    row = Question(video_id=video_id, question=question, answer=result.answer, model=result.model,
                   moments=result.moments)
    session.add(row)
    session.flush()
    result.question_id = row.id
    return result


def _answer(session: Session, settings: Settings, video: Video, question: str, hits: list[Hit], vlm: Any,
            retrieved: list[dict[str, Any]]) -> AskResult:
    from model.vlm import Span

    probe = Probe.from_dict(video.probe)  # type: ignore[arg-type]
    duration = video.duration or probe.duration
    precise = [h for h in hits if h.kind != MomentKind.chapter.value]  # chapters span whole clips
    spans = spans_for(precise or hits, duration)
    if not spans:  # nothing matched: look at the beginning of the video
        spans = [(0.0, min(duration, MAX_SPAN_SECONDS))]
    notes: list[str] = []
    inputs = []
    for plan in span_plans(spans, probe, settings):
        frames = read_frames(video.path, plan, probe, prefer=settings.frame_reader)
        notes += frames.notes
        if frames.frames:
            inputs.append(Span(frames.images, plan.fps, frames.times[0]))
    if not inputs:
        return AskResult(None, None, vlm.name, vlm.is_test_model, retrieved, notes + ["no decodable frame in the spans"])
    answer = vlm.answer(question, inputs, _context(session, video.id, spans))
    cited = []
    for c in answer.citations:
        start, end = max(0.0, min(c.start, duration)), max(0.0, min(c.end, duration))
        cited.append({"start": start, "end": max(start, end), "kind": "cited", "text": f"span {c.span}",
                      "source": "cited"})
    notes += answer.notes
    if vlm.is_test_model:
        notes.append("a tiny random-weight test model wrote this answer: its text is meaningless")
    return AskResult(None, answer.text, answer.model, vlm.is_test_model, cited + retrieved, notes)
