"""Speech: a clip's audio -> Whisper -> one ``speech`` moment per stretch of speech.

Times are absolute (the clip's audio is transcribed at its offset). Each moment carries its words
(``[start, end, text, probability]``) and Whisper's average log-probability, and is known to
within ``SPEECH_UNCERTAINTY`` seconds at either end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from video_qa.analysis.timing import StageClock
from video_qa.media.audio import read_audio
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe
from video_qa.moments.values import NewMoment

if TYPE_CHECKING:
    from model.protocols import SpeechModel
    from model.speech import Segment, Word

SPEECH_UNCERTAINTY = 0.5  # seconds: Whisper's word times against espeak-ng truth (bench/moments.py)
SPEECH_GAP = 1.5  # seconds of silence between two words that split a Whisper segment


def speech_moment(start: float, end: float, text: str, meta: dict[str, Any]) -> NewMoment:
    return NewMoment(start, max(end, start + 1e-3), text, {
        **meta, "start_uncertainty": SPEECH_UNCERTAINTY, "end_uncertainty": SPEECH_UNCERTAINTY})


def _words(words: tuple[Word, ...] | list[Word]) -> list[list[Any]]:
    return [[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 3)] for w in words]


def speech_moments(segments: list[Segment]) -> list[NewMoment]:
    """One moment per stretch of speech: Whisper may put two sentences 20 s apart in one segment,
    so a segment is split where its words pause ``SPEECH_GAP`` or more, and each piece spans
    its own words."""
    out = []
    for s in segments:
        if not s.text.strip():
            continue
        pieces: list[list[Word]] = []
        for w in s.words:
            if pieces and w.start - pieces[-1][-1].end < SPEECH_GAP:
                pieces[-1].append(w)
            else:
                pieces.append([w])
        if len(pieces) <= 1:
            out.append(speech_moment(s.start, s.end, s.text.strip(), {"words": _words(s.words),
                                                                      "avg_logprob": s.avg_logprob}))
            continue
        for piece in pieces:
            text = " ".join(w.text.strip() for w in piece if w.text.strip())  # words come stripped or not
            if text:
                out.append(speech_moment(piece[0].start, piece[-1].end, text,
                                         {"words": _words(piece), "avg_logprob": s.avg_logprob}))
    return out


def hear(path: str, probe: Probe, clip: ClipPlan, speech: SpeechModel, clock: StageClock) -> list[NewMoment]:
    """The clip's speech moments: its audio (16 kHz PCM, by its own ffmpeg) transcribed at the
    clip's start."""
    with clock("decode"):
        audio = read_audio(path, clip.start, clip.end, origin=probe.start_time)
    with clock("hear"):
        transcript = speech.transcribe(audio, offset=clip.start)
    return speech_moments(transcript.segments)
