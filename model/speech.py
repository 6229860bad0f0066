"""Speech transcripts with faster-whisper: int8 on CPU, float16 on CUDA, voice-activity filtered.

Segment and word times are seconds from the start of the audio given, plus ``offset`` (the span's
absolute start), so they are absolute video time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from model.loading import InferenceModel

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
BEAM_SIZE = 5


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float


@dataclass
class Transcript:
    language: str | None
    language_probability: float
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments).strip()


class WhisperSpeech(InferenceModel["WhisperModel"]):
    """faster-whisper on ``threads`` CTranslate2 CPU threads (``VIDEOQA_ANALYZER_THREADS``: a worker
    runs it beside on-screen text reading and another part); loads on first use."""

    def __init__(self, location: str, device: str = "auto", threads: int = 1) -> None:
        super().__init__(threads)
        self.location = location
        self.device_setting = device
        self.name = f"faster-whisper {location}"

    def _load(self) -> WhisperModel:
        import ctranslate2
        from faster_whisper import WhisperModel

        cuda = self.device_setting != "cpu" and ctranslate2.get_cuda_device_count() > 0
        device, compute = ("cuda", "float16") if cuda else ("cpu", "int8")
        log.info("loading speech model %s on %s (%s)", self.location, device, compute)
        return WhisperModel(self.location, device=device, compute_type=compute, cpu_threads=self.threads or 0)

    def transcribe(self, audio: np.ndarray, offset: float = 0.0) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio`` whose first sample is at ``offset`` seconds."""
        if audio.size < SAMPLE_RATE // 10:  # no audio stream, or under 0.1 s: nothing was said
            return Transcript(language=None, language_probability=0.0)
        model = self.load()
        # Beam search at temperature 0 only: the same audio always gives the same words (Whisper's
        # default falls back to sampling at higher temperatures, and then a re-run of a clip can read
        # "approved" where the first run read "improved").
        segments, info = model.transcribe(
            audio.astype(np.float32, copy=False), beam_size=BEAM_SIZE, temperature=0.0, vad_filter=True,
            word_timestamps=True, condition_on_previous_text=False,
        )
        out = []
        for s in segments:
            text = s.text.strip()
            if not text:
                continue
            words = tuple(Word(offset + w.start, offset + w.end, w.word.strip(), w.probability) for w in (s.words or []))
            out.append(Segment(offset + s.start, offset + s.end, text, words, s.avg_logprob))
        return Transcript(language=info.language, language_probability=info.language_probability, segments=out)
