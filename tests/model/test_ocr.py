"""On-screen text with rapidocr: lines, scores and boxes in the frame's pixels, whole or by region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.ocr import ScreenText, similar
from tests.factories.media import speech_and_caption_video
from video_qa.analyzers import get_ocr
from video_qa.config import load_settings
from video_qa.media import probe, read_frames
from video_qa.media.plan import sampling_plan


@pytest.fixture(scope="module")
def exit_frame(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = speech_and_caption_video(tmp_path_factory.mktemp("ocr") / "exit.mp4", seconds=4,
                                    caption=(0.0, 4.0, "EXIT 12"), audio=False)
    p = probe(path)
    return read_frames(path, sampling_plan(1.0, 2.0, 1.0, p), p).frames[0]


def test_a_caption_is_read_with_its_box_in_frame_pixels(exit_frame: np.ndarray) -> None:
    ocr = get_ocr(load_settings())
    (line,) = ocr.read_frame(exit_frame)
    assert line.text.replace(" ", "").upper() == "EXIT12" and line.score >= 0.6
    x0, y0, x1, y1 = line.box  # drawn centred, 72 px high text on 640x360
    assert 100 < x0 < 320 < x1 < 540 and 120 < y0 < 180 < y1 < 240
    assert len(line.corners) == 4 and line.height == pytest.approx(y1 - y0)
    # a region read gives the same line, its box still in the whole frame's pixels
    (again,) = ocr.read_frame(exit_frame, region=(100, 100, 540, 260))
    assert again.text == line.text and np.allclose(again.box, line.box, atol=10)  # detected at its own scale
    assert ocr.read_frame(exit_frame, region=(0, 0, 100, 80)) == []


def test_near_identical_text_is_similar_and_different_text_is_not() -> None:
    assert similar("EXIT 12", "exit 12.", 0.8)
    assert similar("Quarterly budget 2026", "Quarterly budqet 2026", 0.8)
    assert not similar("EXIT 12", "ENTRY 7", 0.8)


def test_blank_frames_give_no_lines() -> None:
    assert ScreenText().read_frame(np.zeros((360, 640, 3), dtype=np.uint8)) == []
