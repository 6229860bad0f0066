"""Speech with the bundled Whisper tiny.en, offline, on media with speech at known times."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.media import index_video, silent_video, speech_and_caption_video
from video_qa.analyzers import get_speech
from video_qa.config import load_settings
from video_qa.media import probe, read_audio


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_and_caption_video(tmp_path_factory.mktemp("speech") / "meeting.mp4")


def transcribe(path: Path, start: float, end: float):  # type: ignore[no-untyped-def]
    p = probe(path)
    audio = read_audio(path, start, end, origin=p.start_time)
    return get_speech(load_settings()).transcribe(audio, offset=start)


def test_words_at_their_times(speech_video: Path) -> None:
    # a span that starts before the speech: times come back in absolute video time
    transcript = transcribe(speech_video, 30.0, 60.0)
    assert transcript.language == "en"
    text = transcript.text.lower()
    assert "budget" in text and "approved" in text
    words = {w.text.lower().strip(".,"): w for s in transcript.segments for w in s.words}
    assert words["quarterly"].start == pytest.approx(42.0 + 0.35, abs=1.0)
    assert transcript.segments[0].start == pytest.approx(42.0, abs=1.0)
    assert all(30.0 <= s.start <= s.end <= 60.0 for s in transcript.segments)


def test_the_same_audio_always_gives_the_same_words(speech_video: Path) -> None:
    runs = {transcribe(speech_video, 30.0, 60.0).text for _ in range(4)}
    assert runs == {"The quarterly budget is approved."}


def test_silence_gives_an_empty_transcript(tmp_path: Path) -> None:
    assert transcribe(silent_video(tmp_path / "silent.mp4"), 0.0, 10.0).segments == []


def test_no_audio_stream_is_handled(tmp_path: Path) -> None:
    transcript = transcribe(index_video(tmp_path / "mute.mp4", seconds=3), 0.0, 3.0)
    assert transcript.segments == [] and transcript.language is None
