"""A clip's hear_read part: speech heard beside the text, times absolute."""

from __future__ import annotations

import pytest

from model.speech import Segment, Word
from video_qa.analysis.hear_read import hear_read
from video_qa.analyzers import Backends
from video_qa.media.plan import ClipPlan
from video_qa.pipeline.background import side_pool
from video_qa.pipeline.clock import Clock


def test_speech_is_heard_beside_the_text_and_its_times_stay_absolute(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """hear_read runs speech in a side thread while this thread reads text: both are busy at
    once, and the words keep the clip's absolute time."""
    import threading
    import time as clock

    from tests.factories.media import speech_and_caption_video
    from video_qa.config import load_settings
    from video_qa.media import probe
    from video_qa.media.plan import sampling_plan

    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=12, speech=(7.0, "the budget is approved"),
                                    caption=(0.0, 12.0, "EXIT 12"))
    p = probe(path)
    spans: dict[str, tuple[float, float, int]] = {}
    hearing = threading.Event()

    class SlowSpeech:
        def transcribe(self, audio, offset=0.0):  # type: ignore[no-untyped-def]
            began = clock.perf_counter()
            hearing.set()
            clock.sleep(0.4)
            spans["hear"] = (began, clock.perf_counter(), threading.get_ident())
            assert audio.size == pytest.approx(6.0 * 16000, abs=1600)  # the clip's own audio
            words = (Word(offset + 1.0, offset + 1.4, "budget", 0.9),)
            return type("T", (), {"segments": [Segment(offset + 1.0, offset + 1.4, "budget", words, -0.2)]})()

    class SlowText:
        def read_frame(self, frame, region=None):  # type: ignore[no-untyped-def]
            assert hearing.wait(30)  # one after the other, this would wait for ever
            began = clock.perf_counter()
            clock.sleep(0.2)
            first = spans.get("read", (began, 0.0, 0))[0]
            spans["read"] = (first, clock.perf_counter(), threading.get_ident())
            return []

    settings = load_settings(ocr_fps=0.5)
    plan = ClipPlan(index=1, start=6.0, end=12.0, fps=0.5, frames=3, width=640, height=360, tokens=0, budget=0,
                    activity=1.0, why="")
    clock_ = Clock()
    result = hear_read(str(path), p, plan, settings, Backends(None, SlowSpeech(), SlowText(), None), clock_,
                       side_pool())
    (moment,) = result.speech
    assert (moment.start, moment.end) == pytest.approx((7.0, 7.4))  # offset + the model's seconds
    assert moment.meta["words"] == [[7.0, 7.4, "budget", 0.9]]
    hear, read = spans["hear"], spans["read"]
    assert hear[2] != read[2] and hear[0] < read[1] and read[0] < hear[1]  # two threads, overlapping
    assert result.reading["samples"] == len(sampling_plan(6.0, 12.0, 0.5, p).sample_times)
    assert {"decode", "hear", "read", "embed"} <= set(clock_.seconds)
