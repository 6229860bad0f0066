"""What each pipeline part computes, apart from orchestration: decode, see, hear, read, embed.

Every function takes plain inputs and returns moments with absolute times (seconds from the
video stream's start); ``Clock`` records the seconds spent per stage, which the work ledger keeps
and ``bench/ingest.py`` adds up. Decoding is split from model work so that the next clip's
decode can run in the background (``Prefetcher``) while the models work on this one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from video_qa.config import Settings
from video_qa.media import plan as make_plan
from video_qa.media import probe as run_probe
from video_qa.media import read_frames
from video_qa.media.activity import clip_activity
from video_qa.media.audio import read_audio
from video_qa.media.frames import ClipFrames
from video_qa.media.plan import ClipPlan, clip_edges, sampling_plan
from video_qa.media.probe import Probe
from video_qa.moments import NewMoment, embed_moments

log = logging.getLogger(__name__)

STAGES = ("decode", "see", "hear", "read", "embed", "store")


class Clock:
    """Seconds per stage for one part of the work."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - began)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


class Prefetcher:
    """Loads the next clip's media in one background thread while this clip's models run.

    ``start(key, loader)`` begins a load; ``take(key, loader)`` returns it (waiting if needed) or
    loads in the calling thread when nothing was started. At most ``capacity`` loads are kept, so
    memory stays bounded by a clip or two. A loader returns ``(value, seconds_of_work)``.
    """

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._futures: OrderedDict[Any, Future] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def start(self, key: Any, loader: Callable[[], tuple[Any, float]]) -> None:
        with self._lock:
            if key in self._futures:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="videoqa-prefetch")
            self._futures[key] = self._pool.submit(loader)
            while len(self._futures) > self.capacity:
                _, old = self._futures.popitem(last=False)
                old.cancel()

    def take(self, key: Any, loader: Callable[[], tuple[Any, float]]) -> tuple[Any, float, bool]:
        """(value, seconds of decode work, whether it came from the background)."""
        with self._lock:
            future = self._futures.pop(key, None)
        if future is not None and not future.cancelled():
            value, seconds = future.result()  # a loader's error surfaces here, in the task
            return value, seconds, True
        value, seconds = loader()
        return value, seconds, False


PREFETCH = Prefetcher()


def timed(fn: Callable[[], Any]) -> Callable[[], tuple[Any, float]]:
    def run() -> tuple[Any, float]:
        began = time.perf_counter()
        value = fn()
        return value, time.perf_counter() - began

    return run


# ---- ingest: probe and plan

def probe_and_plan(path: str | Path, settings: Settings) -> tuple[Probe, list[ClipPlan]]:
    p = run_probe(path)
    activity = clip_activity(path, p, clip_edges(p.duration, settings.clip_seconds)) if settings.adaptive_fps else None
    return p, make_plan(p, settings, activity)


# ---- hear and read (cpu queue)

@dataclass
class HearReadInputs:
    audio: np.ndarray | None
    frames: ClipFrames | None


def load_hear_read(path: str, probe: Probe, clip: ClipPlan, settings: Settings, speech: bool, ocr: bool) -> HearReadInputs:
    audio = read_audio(path, clip.start, clip.end, origin=probe.start_time) if speech and probe.has_audio else None
    frames = None
    if ocr:
        sampling = sampling_plan(clip.start, clip.end, settings.ocr_fps, probe, index=clip.index)
        frames = read_frames(path, sampling, probe, prefer=settings.frame_reader)
    return HearReadInputs(audio, frames)


@dataclass
class HearReadResult:
    speech: list[NewMoment] = field(default_factory=list)
    text: list[NewMoment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def hear_read(inputs: HearReadInputs, clip: ClipPlan, settings: Settings, backends: Any, clock: Clock) -> HearReadResult:
    result = HearReadResult()
    if inputs.audio is not None and backends.speech is not None:
        with clock("hear"):
            transcript = backends.speech.transcribe(inputs.audio, offset=clip.start)
        for s in transcript.segments:
            if not s.text.strip():
                continue
            words = [[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 3)] for w in s.words]
            result.speech.append(NewMoment(s.start, s.end, s.text.strip(), {"words": words, "avg_logprob": s.avg_logprob}))
    if inputs.frames is not None and backends.ocr is not None:
        interval = 1.0 / settings.ocr_fps
        with clock("read"):
            spans = backends.ocr.spans(inputs.frames.frames, inputs.frames.times)
        for span in spans:
            result.text.append(NewMoment(span.start, span.end, span.text, {
                "score": round(span.score, 4), "box": span.box, "frame_size": list(span.frame_size),
                "samples": span.seen, "sample_interval": interval,
            }))
        result.notes += inputs.frames.notes
    with clock("embed"):
        embed_moments(result.speech + result.text, backends.embedder)
    return result


# ---- see (gpu queue)

@dataclass
class SeeResult:
    caption: str
    events: list[NewMoment]
    model: str
    test_model: bool
    notes: list[str]


def see(frames: ClipFrames, clip: ClipPlan, backends: Any, clock: Clock) -> SeeResult:
    vlm = backends.vlm
    if not frames.frames:
        return SeeResult("", [], vlm.name, vlm.is_test_model, frames.notes + ["no decodable frame: nothing to see"])
    with clock("see"):
        analysis = vlm.describe_clip(frames.images, frames.times, clip.fps)
    origin = frames.times[0]  # the model's times are relative to the first frame it was shown
    events = [NewMoment(origin + e.start, origin + e.end, e.text, {"model": analysis.model}) for e in analysis.events]
    with clock("embed"):
        embed_moments(events, backends.embedder)
    return SeeResult(analysis.caption, events, analysis.model, vlm.is_test_model, frames.notes + analysis.notes)


# ---- finalize: summary and chapters

@dataclass(frozen=True)
class ClipText:
    start: float
    end: float
    caption: str | None
    speech: list[str]
    text: list[str]


def _excerpt(parts: list[str], limit: int) -> str:
    out = " ".join(p.strip() for p in parts if p.strip())
    return out if len(out) <= limit else out[: limit - 1].rsplit(" ", 1)[0] + "…"


def chapters_from(clips: list[ClipText]) -> list[NewMoment]:
    """One chapter per clip that has something to say (its caption, else its speech, else its
    on-screen text); a clip with nothing, or the same words as the last chapter, extends it."""
    chapters: list[NewMoment] = []
    for c in clips:
        if c.caption:
            title, source = c.caption, "caption"
        elif c.speech:
            title, source = _excerpt(c.speech, 100), "speech"
        elif c.text:
            title, source = "On screen: " + _excerpt(list(dict.fromkeys(c.text)), 90), "text"
        else:
            title, source = "", ""
        if chapters and (not title or title == chapters[-1].text):
            chapters[-1].end = c.end
            continue
        if not title:
            title, source = "(no speech or text)", "none"
        chapters.append(NewMoment(c.start, c.end, title, {"source": source}))
    return chapters


def extractive_summary(clips: list[ClipText]) -> str:
    """Without vision-language captions (no model, or it described nothing): what was said and shown,
    in order, labelled as such."""
    speech = _excerpt([s for c in clips for s in c.speech], 600)
    shown = _excerpt(list(dict.fromkeys(t for c in clips for t in c.text)), 300)
    parts = ["Extracted from the transcript and on-screen text (no vision-language captions)."]
    if speech:
        parts.append(f"Speech: {speech}")
    if shown:
        parts.append(f"On screen: {shown}")
    if not speech and not shown:
        parts.append("Nothing was said and no on-screen text was read.")
    return "\n".join(parts)


def summarize(clips: list[ClipText], backends: Any, clock: Clock) -> str:
    captions = [(c.start, c.caption) for c in clips if c.caption]
    if backends.vlm is not None and captions:
        with clock("see"):
            return backends.vlm.summarize(captions)
    return extractive_summary(clips)
