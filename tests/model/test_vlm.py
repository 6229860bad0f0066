"""describe_clip and answer end to end on the twin (CPU), and the time mapping by value."""

from __future__ import annotations

import numpy as np
import pytest

from model.vlm import Answer, Citation, ClipAnalysis, Event, QwenVL, Span, analysis_from_text, answer_from_text, get_vlm


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [rng.integers(0, 255, (280, 392, 3), dtype=np.uint8) for _ in range(n)]


def test_describe_clip_end_to_end(tiny_vlm: QwenVL) -> None:
    result = tiny_vlm.describe_clip(frames(8), [120.0 + j * 0.5 for j in range(8)], 2.0)
    assert isinstance(result, ClipAnalysis)
    assert isinstance(result.caption, str) and isinstance(result.raw, str)
    assert "test model" in result.model
    for event in result.events:
        assert isinstance(event, Event)
        assert 0.0 <= event.start <= event.end <= 4.0


def test_answer_end_to_end(tiny_vlm: QwenVL) -> None:
    spans = [Span(frames(4), 2.0, 100.0), Span(frames(6), 1.0, 3000.0)]
    result = tiny_vlm.answer("When does the van arrive?", spans, context="[0:01:40.0] speech: the van is here")
    assert isinstance(result, Answer) and isinstance(result.text, str)
    for c in result.citations:
        span = spans[c.span - 1]
        assert span.start <= c.start <= c.end <= span.start + span.length


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


def test_auto_picks_a_real_checkpoint_id_without_gpu() -> None:
    from model.vlm import DEFAULT_3B, choose_model

    assert choose_model("auto") == DEFAULT_3B  # no CUDA on the test machines
    assert choose_model("/models/mine") == "/models/mine"
    with pytest.raises(ValueError, match="fps"):
        Span(frames(2), 0.0, 0.0)  # a span without a usable fps cannot exist
