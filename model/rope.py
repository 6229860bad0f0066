"""Qwen2.5-VL's absolute-time multimodal RoPE, computed independently of transformers.

Inside one video input, frame group ``g`` (``temporal_patch_size`` frames) gets the temporal
position ``start + floor(g * second_per_grid * tokens_per_second)`` with
``second_per_grid = temporal_patch_size / fps``; with ``tokens_per_second = 2`` one id is 0.5 s.
Height and width ids are ``start + row`` and ``start + column`` of the merged grid. Text continues
one past the largest id used so far (the released checkpoints were trained that way), so every
video starts its own time axis at the position where it stands in the prompt.

``reference_rope_index`` has the signature of the model's ``get_rope_index``. ``rope_mismatches``
is the start-up self-check: it runs both on a prompt with text, two videos at different rates and
text after them, and lists every difference. transformers 5.23 restarts the text after a video
at ``start + max(height, width) / merge`` instead of one past the video's last temporal id, so a
long video's time ids overlap the text that follows it; the backend then installs this module's
index on the loaded model (``install_reference_rope``) and says so in the log.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from typing import Any

import torch

log = logging.getLogger(__name__)

TEXT, IMAGE, VIDEO = 0, 1, 2


def temporal_ids(groups: int, fps: float, tokens_per_second: float = 2, temporal_patch_size: int = 2) -> list[int]:
    """Relative temporal ids of ``groups`` frame groups sampled at ``fps``."""
    if not fps or fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"a video needs a positive fps, got {fps!r}")
    second_per_grid = temporal_patch_size / fps
    return [math.floor(g * second_per_grid * tokens_per_second) for g in range(groups)]


def id_to_seconds(position: int, tokens_per_second: float = 2) -> float:
    """Relative temporal id -> seconds from the start of that video input."""
    return position / tokens_per_second


def _vision_ids(start: int, grid_thw: torch.Tensor, merge: int, interval: float | None) -> torch.Tensor:
    t, h, w = (int(x) for x in grid_thw)
    h, w = h // merge, w // merge
    if interval is None:  # still image: no time axis
        t_ids = torch.zeros(t, dtype=torch.long)
    else:
        t_ids = torch.tensor([math.floor(g * interval) for g in range(t)], dtype=torch.long)
    tt, hh, ww = torch.meshgrid(t_ids, torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([tt, hh, ww]).reshape(3, -1) + start


def reference_rope_index(
    config: Any,
    input_ids: torch.Tensor,
    mm_token_type_ids: torch.Tensor,
    image_grid_thw: torch.Tensor | None = None,
    video_grid_thw: torch.Tensor | None = None,
    second_per_grid_ts: torch.Tensor | list[float] | None = None,
    attention_mask: torch.Tensor | None = None,
    **_: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(position_ids [3, batch, seq], deltas [batch, 1]) as the released checkpoints expect."""
    merge = config.vision_config.spatial_merge_size
    tokens_per_second = config.vision_config.tokens_per_second
    if video_grid_thw is not None and second_per_grid_ts is None:
        raise ValueError("video inputs need second_per_grid_ts (the fps never reached the processor)")
    positions = torch.zeros(3, *input_ids.shape, dtype=input_ids.dtype, device=input_ids.device)
    images: Iterator[torch.Tensor] = iter(image_grid_thw if image_grid_thw is not None else [])
    videos: Iterator[torch.Tensor] = iter(video_grid_thw if video_grid_thw is not None else [])
    seconds: Iterator[Any] = iter(second_per_grid_ts if second_per_grid_ts is not None else [])
    deltas = []
    for b in range(input_ids.shape[0]):
        types = mm_token_type_ids[b]
        keep = attention_mask[b].bool() if attention_mask is not None else torch.ones_like(types, dtype=torch.bool)
        types = types[keep]
        pieces = []
        next_pos = 0
        for kind, run in itertools.groupby(types.tolist()):
            length = len(list(run))
            if kind == TEXT:
                pieces.append(torch.arange(next_pos, next_pos + length).expand(3, -1))
            else:
                interval = tokens_per_second * float(next(seconds)) if kind == VIDEO else None
                ids = _vision_ids(next_pos, next(videos) if kind == VIDEO else next(images), merge, interval)
                if ids.shape[1] != length:
                    raise ValueError(f"{ids.shape[1]} vision positions for {length} placeholder tokens")
                pieces.append(ids)
            next_pos = int(pieces[-1].max()) + 1
        row = torch.cat(pieces, dim=1) if pieces else torch.zeros(3, 0, dtype=torch.long)
        positions[:, b, keep] = row.to(positions.device, positions.dtype)
        deltas.append(int(row.max()) + 1 - int(keep.sum()) if row.numel() else 0)
    return positions, torch.tensor(deltas, device=input_ids.device).unsqueeze(1)


def probe_prompt(config: Any) -> dict[str, torch.Tensor]:
    """Text, a video at 0.25 fps, text, a video at 2 fps, text: a prompt whose time axes are long
    enough to show where text restarts after a video."""
    merge = config.vision_config.spatial_merge_size
    grids = torch.tensor([[6, 2 * merge, 2 * merge], [4, 2 * merge, 3 * merge]])
    per_video = [int(t * h * w) // merge**2 for t, h, w in grids.tolist()]
    types = [TEXT] * 3 + [VIDEO] * per_video[0] + [TEXT] * 2 + [VIDEO] * per_video[1] + [TEXT] * 4
    mm = torch.tensor([types])
    ids = torch.where(mm == VIDEO, torch.tensor(config.video_token_id), torch.tensor(1))
    return {
        "input_ids": ids,
        "mm_token_type_ids": mm,
        "video_grid_thw": grids,
        "second_per_grid_ts": torch.tensor([2 / 0.25, 2 / 2.0]),
        "attention_mask": torch.ones_like(ids),
    }


def rope_mismatches(model: Any) -> list[str]:
    """Where the model's own ``get_rope_index`` differs from the reference on ``probe_prompt``."""
    inputs = probe_prompt(model.config)
    ours, _ = reference_rope_index(model.config, **inputs)
    theirs, _ = model.model.get_rope_index(
        inputs["input_ids"], inputs["mm_token_type_ids"], None, inputs["video_grid_thw"],
        inputs["second_per_grid_ts"], inputs["attention_mask"],
    )
    diff = (ours != theirs.to(ours.device)).any(dim=0)[0].nonzero().flatten().tolist()
    if not diff:
        return []
    first = diff[0]
    return [
        f"{len(diff)} of {ours.shape[-1]} positions differ; first at token {first}: "
        f"reference {ours[:, 0, first].tolist()}, model {theirs[:, 0, first].tolist()}"
    ]


def install_reference_rope(model: Any) -> None:
    """Make the loaded model use ``reference_rope_index`` (for prefill and generation)."""
    config = model.config

    def get_rope_index(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return reference_rope_index(config, *args, **kwargs)

    model.model.get_rope_index = get_rope_index
