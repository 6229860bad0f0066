"""Temporal position ids by value, through the real processor and the twin's get_rope_index."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.rope import id_to_seconds, reference_rope_index, rope_mismatches, temporal_ids
from model.vlm import QwenVL
from video_qa.media.plan import VideoShape, ladder_fps

FRAME = np.zeros((280, 392, 3), dtype=np.uint8)  # 20x28 patches -> 10x14 merged tokens a group
TOKENS_PER_GROUP = 10 * 14

EXPECTED = {  # relative temporal id of groups 0..3: floor(g * (2 / fps) * 2)
    2.0: [0, 2, 4, 6],
    1.0: [0, 4, 8, 12],
    0.5: [0, 8, 16, 24],
    0.4: [0, 10, 20, 30],
    0.25: [0, 16, 32, 48],
    0.2133: [0, 18, 37, 56],  # seconds per grid 9.376..., not whole
    4.0: [0, 1, 2, 3],
    4 / 3: [0, 3, 6, 9],  # the plan's top rate when the budget lowers 2 fps one step (4/3)
    2 / 3: [0, 6, 12, 18],  # ... and its levels below: 4/6, 4/12
    1 / 3: [0, 12, 24, 36],
}
# Every rate the dynamic-fps plan can choose for the default budget (top 2 fps, then 1, 0.5 and
# the 0.25 floor) and for a budget that lowers the top to 4/3 (then 2/3, 1/3): each is in EXPECTED.
PLAN_RATES = sorted({ladder_fps(k) for top in (2, 3) for k in VideoShape(top, 28, 28, 0, False).rates()})


def positions(vlm: QwenVL, videos: list[float], frames: int = 8):  # type: ignore[no-untyped-def]
    content = []
    for i, _ in enumerate(videos):
        content += [{"type": "text", "text": f"span {i}"}, {"type": "video"}]
    content.append({"type": "text", "text": "what happens?"})
    inputs = vlm.build_inputs(content, [([FRAME] * frames, fps) for fps in videos])
    pos, _ = vlm.model.model.get_rope_index(
        inputs["input_ids"], inputs["mm_token_type_ids"], None, inputs["video_grid_thw"],
        torch.as_tensor(inputs["second_per_grid_ts"]), inputs["attention_mask"],
    )
    is_video = (inputs["input_ids"][0] == vlm.model.config.video_token_id)
    return inputs, pos[:, 0, :], is_video


def video_runs(is_video: torch.Tensor) -> list[tuple[int, int]]:
    idx = is_video.nonzero().flatten().tolist()
    runs, start = [], idx[0]
    for a, b in zip(idx, idx[1:] + [None]):
        if b != a + 1:
            runs.append((start, a + 1))
            start = b
    return runs


@pytest.mark.parametrize("fps", list(EXPECTED))
def test_temporal_ids_by_value(tiny_vlm: QwenVL, fps: float) -> None:
    inputs, pos, is_video = positions(tiny_vlm, [fps])
    assert list(inputs["second_per_grid_ts"]) == pytest.approx([2 / fps])  # the fps reached the processor
    (a, b), = video_runs(is_video)
    t = pos[0, a:b].reshape(4, TOKENS_PER_GROUP)
    assert (t == t[:, :1]).all()  # one time id per frame group
    start = int(pos[1, a])  # the video's own origin: its first height id
    assert [int(x) - start for x in t[:, 0]] == EXPECTED[fps]
    assert temporal_ids(4, fps) == EXPECTED[fps]


def test_every_plan_rate_is_checked_by_value() -> None:
    assert PLAN_RATES == [0.25, 1 / 3, 0.5, 2 / 3, 1.0, 4 / 3, 2.0]
    assert set(PLAN_RATES) <= set(EXPECTED)
    for fps in PLAN_RATES:
        assert temporal_ids(4, fps) == EXPECTED[fps]


def test_one_id_step_is_half_a_second(tiny_vlm: QwenVL) -> None:
    # at 1 fps a group is 2 s: its id is 4 steps later, 4 * 0.5 s
    assert id_to_seconds(EXPECTED[1.0][1]) == 2.0
    assert [id_to_seconds(i) for i in EXPECTED[2.0]] == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("rates", [[2.0, 0.5], [0.25, 1.0, 4.0]])
def test_each_video_starts_its_own_time_axis_and_text_continues_after_it(tiny_vlm: QwenVL, rates: list[float]) -> None:
    inputs, pos, is_video = positions(tiny_vlm, rates)
    runs = video_runs(is_video)
    assert len(runs) == len(rates)
    for (a, b), fps in zip(runs, rates):
        start = int(pos[0, a - 1]) + 1  # one past the text token before it
        t = pos[0, a:b].reshape(4, TOKENS_PER_GROUP)[:, 0]
        assert [int(x) - start for x in t] == EXPECTED[fps]
        assert int(pos[1, a]) == start and int(pos[2, a]) == start
        after = pos[:, b]  # the first text token after the video
        assert (after == pos[:, a:b].max() + 1).all()


def test_the_loaded_model_agrees_with_the_reference(tiny_vlm: QwenVL) -> None:
    assert rope_mismatches(tiny_vlm.model) == []


def test_self_check_finds_transformers_divergence(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    """transformers 5.23 restarts text after a long video inside the video's time span."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    raw = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_model_dir).eval()
    found = rope_mismatches(raw)
    vlm = QwenVL(str(tiny_model_dir), device="cpu")
    vlm.load()
    assert vlm.rope_patched == bool(found)
    assert rope_mismatches(vlm.model) == []


def test_missing_fps_raises(tiny_vlm: QwenVL) -> None:
    for fps in (None, 0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="fps"):
            tiny_vlm.build_inputs([{"type": "video"}], [([FRAME] * 4, fps)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="fps"):
        tiny_vlm.describe_clip([FRAME] * 4, [0.0, 0.5, 1.0, 1.5], None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fps"):
        temporal_ids(4, 0.0)


def test_reference_requires_second_per_grid(tiny_vlm: QwenVL) -> None:
    inputs, _, _ = positions(tiny_vlm, [2.0])
    with pytest.raises(ValueError, match="second_per_grid_ts"):
        reference_rope_index(tiny_vlm.model.config, inputs["input_ids"], inputs["mm_token_type_ids"],
                             None, inputs["video_grid_thw"], None)
