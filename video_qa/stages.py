"""What each pipeline part computes, apart from orchestration: decode, see, hear, read, embed.

Every function takes plain inputs and returns moments with absolute times (seconds from the
video stream's start); ``Clock`` records the seconds spent per stage, which the work ledger keeps
and ``bench/ingest.py`` adds up (work done side by side adds up too).

``hear_read`` (the cpu part) reads a clip's on-screen text from frames as they are decoded, one at
a time, while a side thread hears its speech and the embedder loads on first use; the worker runs
two parts at once, so one part's decoding overlaps the other's reading. ``see`` (the vision
model) takes a clip's frames whole, so its next clip's decode runs in the background
(``Prefetcher``) while the model works on this one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from video_qa import chapters as content
from video_qa.analyzers import warm_embedder
from video_qa.config import Settings
from video_qa.media import plan as make_plan
from video_qa.media import probe as run_probe
from video_qa.media import read_frames
from video_qa.media.activity import clip_activity
from video_qa.media.audio import read_audio
from video_qa.media.frames import ClipFrames, FrameReader
from video_qa.media.plan import ClipPlan, clip_edges, sampling_plan
from video_qa.media.probe import Probe
from video_qa.models import Clip, ItemPart, Moment, MomentKind, Video, WorkItem
from video_qa.moments import EMBEDDING_DTYPE, NewMoment, embed_moments, replace_moments
from video_qa.text_gate import read_samples
from video_qa.text_tracks import clip_text_moments, stitch

log = logging.getLogger(__name__)

STAGES = ("decode", "see", "hear", "read", "embed", "store")
SPEECH_UNCERTAINTY = 0.5  # seconds: Whisper's word times against espeak-ng truth: p95 0.41 s (bench/moments.py), 0.46 seen
SPEECH_GAP = 1.5  # seconds of silence between two words that split a Whisper segment
GATE = True  # change-gated reading of on-screen text (docs/moments.md)


class Clock:
    """Seconds per stage for one part of the work."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # a part's side threads (speech) add to it too

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - began)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
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
class HearReadResult:
    speech: list[NewMoment] = field(default_factory=list)
    text: list[NewMoment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cuts: list[list[float]] = field(default_factory=list)  # [[time, uncertainty]] of scene cuts
    reading: dict[str, int] = field(default_factory=dict)  # change gating: samples, read, partial, skipped

    def stats(self) -> dict[str, Any]:
        """What the work item keeps besides counts: finalize reads ``cuts`` for chapters."""
        return {"cuts": self.cuts, "reading": self.reading}


def speech_moment(start: float, end: float, text: str, meta: dict[str, Any]) -> NewMoment:
    return NewMoment(start, max(end, start + 1e-3), text, {
        **meta, "start_uncertainty": SPEECH_UNCERTAINTY, "end_uncertainty": SPEECH_UNCERTAINTY})


def speech_moments(segments: list[Any]) -> list[NewMoment]:
    """One moment per stretch of speech: Whisper may put two sentences 20 s apart in one segment,
    so a segment is split where its words pause ``SPEECH_GAP`` or more, and each piece spans
    its own words."""
    out = []
    for s in segments:
        if not s.text.strip():
            continue
        pieces: list[list[Any]] = []
        for w in s.words:
            if pieces and w.start - pieces[-1][-1].end < SPEECH_GAP:
                pieces[-1].append(w)
            else:
                pieces.append([w])
        if len(pieces) <= 1:
            words = [[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 3)] for w in s.words]
            out.append(speech_moment(s.start, s.end, s.text.strip(), {"words": words, "avg_logprob": s.avg_logprob}))
            continue
        for piece in pieces:
            text = " ".join(w.text.strip() for w in piece if w.text.strip())  # words come stripped or not
            if text:
                words = [[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 3)] for w in piece]
                out.append(speech_moment(piece[0].start, piece[-1].end, text,
                                         {"words": words, "avg_logprob": s.avg_logprob}))
    return out


CUT_THUMB = (160, 90)  # the size chapters.scene_cuts compares frames at


def _cut_thumb(frame: np.ndarray) -> np.ndarray:
    """The frame as ``scene_cuts`` looks at it (it resizes to this size first: resizing this again
    changes nothing), so a clip's frames need not be kept to find its cuts."""
    import cv2  # opencv ships with rapidocr

    return cv2.resize(np.ascontiguousarray(frame), CUT_THUMB, interpolation=cv2.INTER_AREA)


@dataclass
class TextScan:
    """One clip's on-screen text, read from its samples as they are decoded."""

    text: list[NewMoment]
    reading: dict[str, int]
    cuts: list[list[float]]
    notes: list[str]


def scan_text(samples: Iterable[Any], clip: ClipPlan, settings: Settings, ocr: Any, clock: Clock,
              gate: bool = GATE) -> TextScan:
    """Read a clip's sampled frames (``media.Sample``s, in time order) one at a time: each is
    decoded, compared with what was last read (change gating), read where it changed, and let go;
    only the readings and a 160x90 copy for scene cuts stay. Seconds spent waiting for frames go
    to ``decode``, the rest to ``read``. Memory is one frame, whatever the clip's length."""
    times: list[float] = []
    thumbs: list[np.ndarray] = []
    size: list[tuple[int, int]] = []
    decode = 0.0

    def frames() -> Iterator[np.ndarray]:
        nonlocal decode
        it = iter(samples)
        while True:
            began = time.perf_counter()
            try:
                sample = next(it)
            except StopIteration:
                decode += time.perf_counter() - began
                return
            decode += time.perf_counter() - began
            times.append(sample.time)
            thumbs.append(_cut_thumb(sample.image))
            if not size:
                size.append((sample.image.shape[1], sample.image.shape[0]))
            yield sample.image

    began = time.perf_counter()
    readings, stats = read_samples(ocr.read_frame, frames(), gate=gate)
    clock.add("decode", decode)
    clock.add("read", time.perf_counter() - began - decode)
    if not times:
        return TextScan([], {}, [], [])
    moments = clip_text_moments(readings, times, clip.start, clip.end, clip.index, 1.0 / settings.ocr_fps,
                                size[0], settings.ocr_min_score)
    with clock("decode"):
        cuts = content.scene_cuts(thumbs, times)
    return TextScan(moments, stats.as_dict(), cuts, [])


def read_text(frames: ClipFrames, clip: ClipPlan, settings: Settings, ocr: Any, gate: bool = GATE,
              ) -> tuple[list[NewMoment], dict[str, int]]:
    """A clip's text moments from its sampled frames (already decoded), and the change gate's counts."""
    if not frames.frames:
        return [], {}
    readings, stats = read_samples(ocr.read_frame, frames.frames, gate=gate)
    h, w = frames.frames[0].shape[:2]
    moments = clip_text_moments(readings, frames.times, clip.start, clip.end, clip.index, 1.0 / settings.ocr_fps,
                                (w, h), settings.ocr_min_score)
    return moments, stats.as_dict()


_side_pool: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()


def side_pool() -> ThreadPoolExecutor:
    """Threads for work beside a part's reading of text: its speech, the embedder's first load.
    Each analyzer runs on ``VIDEOQA_ANALYZER_THREADS`` threads, so a part keeps about two cores
    busy (text in its own thread, speech here) without the runtimes' thread pools fighting."""
    global _side_pool
    with _side_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(4, thread_name_prefix="videoqa-side")
        return _side_pool


def _hear(path: str, probe: Probe, clip: ClipPlan, speech: Any, clock: Clock) -> list[NewMoment]:
    with clock("decode"):
        audio = read_audio(path, clip.start, clip.end, origin=probe.start_time)
    with clock("hear"):
        transcript = speech.transcribe(audio, offset=clip.start)
    return speech_moments(transcript.segments)


def hear_read(path: str, probe: Probe, clip: ClipPlan, settings: Settings, backends: Any, clock: Clock,
              ) -> HearReadResult:
    """A clip's speech, on-screen text and embeddings. Speech runs in a side thread beside the
    text (its audio read by its own ffmpeg), the embedder loads beside both on first use, and the
    text is read from frames as they are decoded (``scan_text``), so one part keeps two cores busy
    and holds one frame at a time."""
    result = HearReadResult()
    pool = side_pool()
    warm = pool.submit(warm_embedder, backends.embedder, settings.analyzer_threads) if backends.embedder is not None else None
    heard: Future | None = None
    if backends.speech is not None and probe.has_audio:
        heard = pool.submit(_hear, path, probe, clip, backends.speech, clock)
    try:
        if backends.ocr is not None:
            sampling = sampling_plan(clip.start, clip.end, settings.ocr_fps, probe, index=clip.index)
            with FrameReader(path, probe=probe, prefer=settings.frame_reader) as reader:
                stream = reader.stream(sampling)
                scan = scan_text(stream, clip, settings, backends.ocr, clock)
            result.text, result.reading, result.cuts = scan.text, scan.reading, scan.cuts
            result.notes += stream.notes
    finally:
        if heard is not None:
            result.speech = heard.result()  # its error, if any, surfaces here, in the task
        if warm is not None:
            warm.result()
    with clock("embed"):  # changing text (counters, clocks) is kept but not embedded
        embed_moments(result.speech + [m for m in result.text if not m.meta.get("changing")], backends.embedder)
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
    unc = round(2.0 / clip.fps, 3)  # the model sees time in patches of two frames
    events = [NewMoment(origin + e.start, origin + e.end, e.text,
                        {"model": analysis.model, "start_uncertainty": unc, "end_uncertainty": unc})
              for e in analysis.events]
    with clock("embed"):
        embed_moments(events, backends.embedder)
    return SeeResult(analysis.caption, events, analysis.model, vlm.is_test_model, frames.notes + analysis.notes)


# ---- finalize from content (docs/moments.md)

@dataclass
class FinalizeInputs:
    duration: float
    clips: dict[int, int]  # clip index -> clip id
    text: list[NewMoment]  # every clip's text moments (meta, embedding) in time order
    speech: list[NewMoment]
    cuts: list[list[float]]  # [[time, uncertainty]] from the hear_read items' stats
    captions: list[tuple[float, float, str]]  # (start, end, caption) of clips the vision model described


def _new(m: Moment) -> NewMoment:
    vector = None if m.vector is None else np.frombuffer(m.vector.embedding, dtype=EMBEDDING_DTYPE)
    return NewMoment(m.start, m.end, m.text, dict(m.meta or {}), vector)


def finalize_inputs(session: Session, video_id: int) -> FinalizeInputs:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"video {video_id} is gone")
    clips = list(session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index)))
    rows = session.scalars(
        select(Moment).options(selectinload(Moment.vector))
        .where(Moment.video_id == video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]))
        .order_by(Moment.start, Moment.clip_index, Moment.seq)
    ).all()
    stats = session.scalars(select(WorkItem.stats).where(
        WorkItem.video_id == video_id, WorkItem.part == ItemPart.hear_read.value, WorkItem.clip_index >= 0))
    cuts = sorted(c for s in stats for c in (s or {}).get("cuts", []))
    duration = video.duration if video.duration else max((c.end for c in clips), default=0.0)
    return FinalizeInputs(
        duration, {c.index: c.id for c in clips},
        [_new(m) for m in rows if m.kind == MomentKind.text.value],
        [_new(m) for m in rows if m.kind == MomentKind.speech.value], cuts,
        [(c.start, c.end, c.caption) for c in clips if c.caption])


def store_text(session: Session, video_id: int, clips: dict[int, int], text: list[NewMoment]) -> int:
    """Rewrite the video's text moments with the stitched ones, each under the clip it starts in."""
    by_clip: dict[int, list[NewMoment]] = {index: [] for index in clips}
    for m in text:
        by_clip.setdefault(int(m.meta.get("clips", [0])[0]), []).append(m)
    return sum(replace_moments(session, video_id, clips.get(index), index, MomentKind.text.value, moments)
               for index, moments in by_clip.items())


@dataclass
class Finalized:
    text: list[NewMoment]  # the video's text moments, stitched across clip boundaries
    chapters: list[NewMoment]
    summary: str


def finalize_content(inputs: FinalizeInputs, backends: Any, clock: Clock) -> Finalized:
    """Stitch text tracks across clips, chapters from content, and the summary from the same
    clean material (changing text and noise never reach titles or the summary)."""
    stitched = stitch(inputs.text)
    chapters = content.content_chapters(inputs.duration, stitched, inputs.speech, inputs.cuts, inputs.captions)
    with clock("embed"):
        embed_moments([m for m in stitched if m.embedding is None and not m.meta.get("changing")], backends.embedder)
        embed_moments(chapters, backends.embedder)
    said = [(start, caption) for start, _, caption in inputs.captions]
    if backends.vlm is not None and said:
        with clock("see"):
            summary = backends.vlm.summarize(said)
    else:
        summary = content.extractive_summary(inputs.speech, stitched)
    return Finalized(stitched, chapters, summary)
