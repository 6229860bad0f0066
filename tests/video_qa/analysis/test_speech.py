"""Speech moments from Whisper's segments: split at long pauses, each with its own times; by value."""

from __future__ import annotations

from model.speech import Segment, Word
from video_qa.analysis.speech import speech_moments


def test_a_whisper_segment_with_a_long_pause_is_two_speech_moments_with_their_own_times() -> None:
    words = (Word(4.59, 5.1, "Welcome", 0.9), Word(5.1, 6.8, " aboard.", 0.9),
             Word(30.2, 30.6, " Lock", 0.9), Word(30.6, 32.7, " it.", 0.8))
    joined = Segment(4.59, 32.71, " Welcome aboard. Lock it.", words, -0.3)
    one = Segment(40.0, 41.5, " Hello.", (Word(40.0, 41.5, " Hello.", 0.9),), -0.2)
    moments = speech_moments([joined, one])
    assert [(m.start, m.end, m.text) for m in moments] == [
        (4.59, 6.8, "Welcome aboard."), (30.2, 32.7, "Lock it."), (40.0, 41.5, "Hello.")]
    assert [w[2] for w in moments[1].meta["words"]] == [" Lock", " it."]
    assert all(m.meta["start_uncertainty"] == m.meta["end_uncertainty"] == 0.5 for m in moments)
