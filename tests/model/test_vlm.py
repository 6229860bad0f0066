"""describe_clip and answer end to end on the twin (CPU), and the time mapping by value."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from model import prompts
from model.vlm import (DEFAULT_3B, DEFAULT_7B, MIN_GPU_BYTES_FOR_7B, Answer, Citation, ClipAnalysis, Event, QwenVL, Span,
                       analysis_from_text, answer_from_text, choose_model, cuda_memory, get_vlm)


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [rng.integers(0, 255, (280, 392, 3), dtype=np.uint8) for _ in range(n)]


def test_describe_clip_end_to_end(tiny_vlm: QwenVL) -> None:
    """The real processor and generation on the random-weight twin: its text is meaningless, so only
    that it ran and is labelled a test model is asserted here; the mapping is asserted below."""
    result = tiny_vlm.describe_clip(frames(8), [120.0 + j * 0.5 for j in range(8)], 2.0)
    assert isinstance(result, ClipAnalysis)
    assert isinstance(result.caption, str) and isinstance(result.raw, str)
    assert result.model == tiny_vlm.name and "test model" in result.model


class Scripted:
    """Stands in for ``QwenVL.generate``: records each call and answers with fixed text."""

    def __init__(self, answer: Callable[[str], str]) -> None:
        self.answer = answer
        self.calls: list[tuple[list[dict[str, Any]], list[tuple[Any, float]]]] = []

    def __call__(self, content: list[dict[str, Any]], videos: list[tuple[Any, float]]) -> str:
        self.calls.append((content, videos))
        return self.answer(" ".join(c["text"] for c in content if c["type"] == "text"))


def test_describe_clip_maps_the_model_text_to_events(tiny_vlm: QwenVL, monkeypatch: pytest.MonkeyPatch) -> None:
    events = ('[{"start": "00:00.50", "end": "00:01.50", "event": "door opens"}, '
              '{"start": "00:02.00", "end": "00:03.50", "event": "van arrives"}]')
    scripted = Scripted(lambda prompt: events if prompt == prompts.DENSE_CAPTIONS else " a van at a door ")
    monkeypatch.setattr(tiny_vlm, "generate", scripted)
    clip = frames(8)
    result = tiny_vlm.describe_clip(clip, [120.0 + j * 0.5 for j in range(8)], 2.0)
    assert result.events == [Event(0.5, 1.5, "door opens"), Event(2.0, 3.5, "van arrives")]  # relative to the clip
    assert result.caption == "a van at a door" and result.raw == events and result.notes == []
    assert len(scripted.calls) == 2
    for content, videos in scripted.calls:
        assert content[0] == {"type": "video"}
        assert len(videos) == 1 and videos[0][0] is clip and videos[0][1] == 2.0


def test_answer_end_to_end(tiny_vlm: QwenVL) -> None:
    spans = [Span(frames(4), 2.0, 100.0), Span(frames(6), 1.0, 3000.0)]
    result = tiny_vlm.answer("When does the van arrive?", spans, context="[0:01:40.0] speech: the van is here")
    assert isinstance(result, Answer) and isinstance(result.text, str)
    assert "test model" in result.model


def test_answer_labels_each_span_and_maps_citations(tiny_vlm: QwenVL, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "The van arrives [span 2, 1 to 2.5 seconds], after the bell [span 1, 0.5 to 1 seconds]."
    scripted = Scripted(lambda prompt: raw)
    monkeypatch.setattr(tiny_vlm, "generate", scripted)
    spans = [Span(frames(4), 2.0, 100.0), Span(frames(6), 1.0, 3000.0)]
    result = tiny_vlm.answer("When does the van arrive?", spans, context="[0:01:40.0] speech: the van is here")
    assert result.citations == [Citation(2, 3001.0, 3002.5), Citation(1, 100.5, 101.0)]
    assert result.text == raw
    [(content, videos)] = scripted.calls
    labels = [c["text"] for c in content if c["type"] == "text" and c["text"].startswith("Span ")]
    assert labels == [
        "Span 1 is the part of the video from 0:01:40.0 to 0:01:42.0; inside it, time starts at 0 seconds.",
        "Span 2 is the part of the video from 0:50:00.0 to 0:50:06.0; inside it, time starts at 0 seconds.",
    ]
    assert [(clip, fps) for clip, fps in videos] == [(spans[0].frames, 2.0), (spans[1].frames, 1.0)]


def test_answer_citations_map_to_absolute_time() -> None:
    spans = [Span(frames(4), 2.0, 100.0), Span(frames(20), 2.0, 3600.0)]
    result = answer_from_text("The van arrives [span 2, 3.5 to 5 seconds], then [span 1, 0.5 to 1].", spans, "m")
    assert result.citations == [Citation(2, 3603.5, 3605.0), Citation(1, 100.5, 101.0)]


def test_clip_events_relative_and_clamped() -> None:
    raw = '[{"start": "00:01.50", "end": "00:03.00", "event": "door opens"}, {"start": "00:50.00", "end": "00:55.00", "event": "late"}]'
    result = analysis_from_text("a caption", raw, length=10.0, model="m")
    assert result.events == [Event(1.5, 3.0, "door opens")]
    assert result.raw == raw and result.notes


def test_odd_frame_count_is_padded(tiny_vlm: QwenVL) -> None:
    inputs = tiny_vlm.build_inputs([{"type": "video"}], [(frames(5), 2.0)])
    assert inputs["video_grid_thw"].tolist()[0][0] == 3


def test_a_block_of_frames_gives_the_same_inputs_as_a_list(tiny_vlm: QwenVL) -> None:
    listed = frames(6)
    block = np.stack(listed)
    a = tiny_vlm.build_inputs([{"type": "video"}], [(listed, 2.0)])
    b = tiny_vlm.build_inputs([{"type": "video"}], [(block, 2.0)])
    assert a["video_grid_thw"].tolist() == b["video_grid_thw"].tolist() == [[3, 20, 28]]
    assert np.array_equal(a["pixel_values_videos"].numpy(), b["pixel_values_videos"].numpy())
    assert Span(block, 2.0, 10.0).length == 3.0


def test_loaded_once_per_process(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    a = get_vlm(str(tiny_model_dir), "cpu")
    b = get_vlm(str(tiny_model_dir), "cpu")
    assert a is b and a.is_test_model
    assert get_vlm("") is None


MIB = 1024**2


@pytest.mark.parametrize(
    ("total", "expected"),
    [(None, DEFAULT_3B),  # no CUDA device
     (15_360 * MIB, DEFAULT_3B),  # a 16 GB card
     (20_470 * MIB, DEFAULT_3B),  # a 20 GB card
     (22_563 * MIB, DEFAULT_7B),  # a 24 GB card that reports 22 GiB (L4, A10G)
     (24_564 * MIB, DEFAULT_7B),  # a 24 GB card that reports 24 GiB (RTX 4090)
     (81_559 * MIB, DEFAULT_7B)],  # an 80 GB card
)
def test_auto_picks_the_checkpoint_for_the_gpu_memory(total: int | None, expected: str) -> None:
    assert choose_model("auto", gpu_memory=lambda: total) == expected


def test_auto_threshold_and_explicit_settings() -> None:
    assert choose_model("auto", gpu_memory=lambda: MIN_GPU_BYTES_FOR_7B) == DEFAULT_7B
    assert choose_model("auto", gpu_memory=lambda: MIN_GPU_BYTES_FOR_7B - 1) == DEFAULT_3B

    def never() -> int:
        raise AssertionError("an explicit setting does not look at the GPU")

    assert choose_model("/models/mine", gpu_memory=never) == "/models/mine"
    assert choose_model(DEFAULT_3B, gpu_memory=never) == DEFAULT_3B


def test_cuda_memory_reads_device_0(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cuda_memory() is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: SimpleNamespace(total_memory=24_564 * MIB * (index + 1)))
    assert cuda_memory() == 24_564 * MIB


def test_a_span_without_a_usable_fps_cannot_exist() -> None:
    for fps in (0.0, -1.0, float("nan"), None):
        with pytest.raises(ValueError, match="fps"):
            Span(frames(2), fps, 0.0)  # type: ignore[arg-type]
