"""On-screen text with rapidocr: spans start and end within one sampling interval of the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.ocr import ScreenText, similar
from tests.factories.media import speech_and_caption_video
from video_qa.analyzers import get_ocr
from video_qa.config import load_settings
from video_qa.media import FrameReader, probe
from video_qa.media.plan import sampling_plan


def test_caption_span_times(tmp_path: Path) -> None:
    path = speech_and_caption_video(tmp_path / "exit.mp4", seconds=90, caption=(65.0, 80.0, "EXIT 12"), audio=False)
    settings = load_settings()
    p = probe(path)
    interval = 1 / settings.ocr_fps
    ocr = get_ocr(settings)
    spans = []
    with FrameReader(path, p) as reader:
        clip = sampling_plan(55.0, 90.0, settings.ocr_fps, p)
        frames = reader.read(clip)
        spans = ocr.spans(frames.frames, frames.times)
    exits = [s for s in spans if "EXIT" in s.text.upper()]
    assert len(exits) == 1, spans
    span = exits[0]
    assert span.text.replace(" ", "").upper() == "EXIT12"
    assert span.start == pytest.approx(65.0, abs=interval)
    assert span.end == pytest.approx(80.0, abs=interval)
    assert span.start >= 65.0 - 1e-6 and span.end <= 80.0 + 1e-6  # seen only while shown
    assert span.score >= settings.ocr_min_score
    assert len(span.box) == 4 and span.frame_size == (640, 360)


def test_near_identical_text_merges_and_different_text_splits() -> None:
    assert similar("EXIT 12", "exit 12.", 0.8)
    assert similar("Quarterly budget 2026", "Quarterly budqet 2026", 0.8)
    assert not similar("EXIT 12", "ENTRY 7", 0.8)


def test_blank_frames_give_no_spans() -> None:
    frames = [np.zeros((360, 640, 3), dtype=np.uint8)] * 3
    assert ScreenText().spans(frames, [0.0, 2.0, 4.0]) == []
