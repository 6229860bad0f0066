from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.factories.media import index_video, tone_video
from video_qa.media import probe, read_audio
from video_qa.media.audio import SAMPLE_RATE


def onset(samples: np.ndarray, threshold: float = 0.05) -> float:
    frame = SAMPLE_RATE // 100  # 10 ms windows
    rms = [float(np.sqrt(np.mean(samples[i : i + frame] ** 2))) for i in range(0, len(samples) - frame, frame)]
    return next(i for i, r in enumerate(rms) if r > threshold) * 0.01


def test_span_is_cut_on_the_video_time_axis(media_dir: Path) -> None:
    path = tone_video(media_dir / "tone.mp4", tone_at=(2.0, 3.0))
    samples = read_audio(path, 1.5, 3.5, origin=probe(path).start_time)
    assert samples.dtype == np.float32
    assert len(samples) == pytest.approx(2.0 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.03)
    assert onset(samples) == pytest.approx(0.5, abs=0.03)
    assert float(np.abs(samples).max()) <= 1.0


def test_no_audio_stream_gives_empty(media_dir: Path) -> None:
    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    assert read_audio(path, 0.0, 2.0).size == 0


def test_empty_span_rejected(media_dir: Path) -> None:
    with pytest.raises(ValueError):
        read_audio(media_dir / "x.mp4", 2.0, 2.0)
