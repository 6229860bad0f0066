"""The visual benchmark's own parts (bench/vision): the generated photo video's cuts, the frame
sampler, when a shot is right for a query, and the throughput timer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.vision import footage
from bench.vision.recall import QUERIES, Shot
from bench.vision.throughput import Row, ratio, table, timed


def test_letterboxed_centres_a_picture_on_black_without_enlarging_it() -> None:
    grey = np.full((100, 400), 200, dtype=np.uint8)  # fits as it is: x 120-519, y 130-229
    out = footage.letterboxed(grey)
    assert out.shape == (360, 640, 3)
    assert out[130, 120].tolist() == [200, 200, 200] and out[229, 519].tolist() == [200, 200, 200]
    assert out[129, 320].tolist() == [0, 0, 0] and out[230, 320].tolist() == [0, 0, 0]
    assert out[180, 119].tolist() == [0, 0, 0] and out[180, 520].tolist() == [0, 0, 0]
    wide = footage.letterboxed(np.full((100, 1280, 3), 50, dtype=np.uint8))  # shrunk to 640 x 50
    assert wide[155, 0].tolist() == [50, 50, 50] and wide[204, 639].tolist() == [50, 50, 50]
    assert wide[154, 0].tolist() == [0, 0, 0] and wide[205, 0].tolist() == [0, 0, 0]


def test_photo_scenes_cut_at_the_known_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("skimage")
    monkeypatch.setattr(footage, "FOLDER", tmp_path)
    monkeypatch.setattr(footage, "PHOTOS", (("chelsea", "a cat"), ("rocket", "a rocket"), ("coffee", "coffee")))
    path = footage.photo_scenes()
    frames, times = footage.sampled(path, 2.0)
    assert len(frames) == 18 and times[:3] == [0.0, 0.5, 1.0]
    assert frames[0].shape == (360, 640, 3)
    from video_qa.analysis.scenes import scene_cuts

    assert scene_cuts(frames, times) == [[3.0, 0.5], [6.0, 0.5]]
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                          capture_output=True, text=True, check=True)
    assert abs(float(done.stdout) - 9.0) < 0.05


def test_a_shot_is_right_when_half_of_it_lies_in_a_true_interval() -> None:
    truth = [("a.mp4", 2.0, 4.0)]
    assert Shot("a.mp4", 1.0, 4.0, "").right_for(truth)  # 2 of its 3 s
    assert not Shot("a.mp4", 0.0, 2.9, "").right_for(truth)  # 0.9 of its 2.9 s, 0.9 of the 2-s interval
    assert Shot("a.mp4", 0.0, 10.0, "").right_for(truth)  # the whole interval, a fifth of the shot
    assert Shot("a.mp4", 2.5, 3.5, "").right_for(truth)
    assert not Shot("b.mp4", 2.0, 4.0, "").right_for(truth)  # another video
    assert all(truth for truth in QUERIES.values())


def test_timed_counts_every_call_after_the_warm_up() -> None:
    calls = []
    wall, cpu, done = timed(lambda: calls.append(1), 4, 0.0)
    assert done == 8 and len(calls) == 3  # the warm-up, then two calls of 4 items to reach 8
    assert wall > 0 and cpu > 0


def test_the_table_gives_cpu_milliseconds_and_the_ratio() -> None:
    rows = [Row("a fp32", 8, 5.0, 10.0, 80, 3.0), Row("a int8", 8, 10.0, 25.0, 200, 3.0)]
    assert ratio(rows, "a int8", "a fp32") == 2.5
    assert np.isnan(ratio(rows, "b", "a fp32"))
    assert "| a fp32 | 8 | 5.0 images | 10.0 images | 100 | 80 | 3.0 |" in table(rows).splitlines()
