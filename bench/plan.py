"""Plan benchmark: what the dynamic-fps plan spends on four kinds of video, and which changes it sees.

    .venv/bin/python -m bench.plan            # four 4-minute 1280x720 30 fps H.264 files
    .venv/bin/python -m bench.plan --no-doc   # print only

Makes (once, cached in bench/.cache/plan) a static slide talk, the same talk with a small moving
inset, a busy moving scene with hard cuts, and a still camera view with sensor noise where a box
walks in for 3 s: every change at a known time (tests/video_qa/media/helpers.py). For each:
visual tokens and frames per hour, share of the hour budget, change coverage (known changes with
an asked sample time within 1 s after them, and within 2 s for slide changes), and the GPU seconds
per hour of video those tokens imply at an assumed prefill rate (see ``PREFILL``), beside
qwen-vl-utils' defaults for the same file.
"""

from __future__ import annotations

import math

from bench._lib import CACHE as BENCH_CACHE
from bench._lib import cli
from bench._lib.report import run_line, write_block
from tests.video_qa.media.helpers import SCENES, Scene, coverage
from video_qa.config import load_settings
from video_qa.media import plan, probe
from video_qa.media.activity import clip_activity
from video_qa.media.plan import clip_edges

CACHE = BENCH_CACHE / "plan"
# Assumed prefill rate (visual tokens per second, whole model incl. the vision encoder) on one
# H100 SXM: 989 TFLOP/s dense BF16 (NVIDIA H100 datasheet) at 40 % utilisation, 2 FLOPs per
# parameter per token of the language model (3.09 B / 7.61 B parameters in Qwen2.5-VL-3B / -7B's
# language model) plus the 0.67 B-parameter vision encoder on the 4 patches of each merged token.
H100_FLOPS, MFU, VISION_PARAMS = 989e12, 0.40, 0.67e9
LM_PARAMS = {"3B": 3.09e9, "7B": 7.61e9}
PREFILL = {name: H100_FLOPS * MFU / (2 * p + 2 * VISION_PARAMS * 4) for name, p in LM_PARAMS.items()}


def qwen_defaults(duration: float, fps: float = 30.0) -> tuple[int, int, list[float]]:
    """(tokens, frames, sample times) of qwen-vl-utils' defaults: the whole file in one call."""
    import numpy as np
    from qwen_vl_utils import vision_process as v

    factor = 14 * v.SPATIAL_MERGE_SIZE
    total = int(round(duration * fps))
    n = v.smart_nframes({}, total_frames=total, video_fps=fps)
    min_pixels = v.VIDEO_MIN_TOKEN_NUM * factor * factor
    max_pixels = max(min(v.VIDEO_MAX_TOKEN_NUM * factor * factor, v.MODEL_SEQ_LEN * factor * factor * 0.9 / n * 2),
                     int(min_pixels * 1.05))
    h, w = v.smart_resize(720, 1280, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    idx = np.linspace(0, total - 1, n).round().astype(int)
    return math.ceil(n / 2) * (h // factor) * (w // factor), n, [i / fps for i in idx]


def row(name: str, scene: Scene, tokens: int, frames: int, times: list[float], duration: float, budget: float,
        detail: str) -> str:
    per_hour = 3600.0 / duration
    t_h = tokens * per_hour
    c1 = coverage(scene.changes, times, 1.0)
    c2 = coverage(scene.changes, times, 2.0)
    gpu = " / ".join(f"{t_h / PREFILL[m]:.0f}" for m in ("3B", "7B"))
    return (f"| {scene.kind} | {name} | {t_h:,.0f} | {frames * per_hour:,.0f} | {100 * t_h / budget:.1f} % | "
            f"{len(scene.changes)} | {100 * c1:.0f} % | {100 * c2:.0f} % | {gpu} | {detail} |")


def main() -> None:
    parser = cli("plan", __doc__)
    parser.add_argument("--no-doc", action="store_true", help="print the table, do not write docs/benchmarks.md")
    parser.add_argument("--seconds", type=float, default=240.0, help="length of each generated file")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    s = load_settings()
    lines = [
        "| video | policy | visual tokens / h | frames / h | of the hour budget | changes | seen within 1 s | within 2 s | GPU s / h 3B / 7B | rates (clips) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for kind, make in SCENES.items():
        scene = make(CACHE / f"{kind}.mp4", args.seconds)
        p = probe(scene.path)
        clips = plan(p, s, clip_activity(scene.path, p, clip_edges(p.duration, s.clip_seconds)))
        times = [t for c in clips for t in c.sample_times]
        rates = ", ".join(f"{c.fps:g}" for c in clips) + f" fps at {clips[0].width}x{clips[0].height}"
        lines.append(row("ours", scene, sum(c.tokens for c in clips), sum(c.frames for c in clips), times,
                         p.duration, s.token_budget_per_hour, rates))
        tokens, frames, qtimes = qwen_defaults(p.duration)
        lines.append(row("qwen-vl-utils defaults", scene, tokens, frames, qtimes, p.duration,
                         s.token_budget_per_hour, "one call, 2 fps up to 768 frames"))
        print(lines[-2], lines[-1], sep="\n", flush=True)
    rates = ", ".join(f"{m} {r:,.0f} tokens/s" for m, r in PREFILL.items())
    body = "\n".join([
        f"{run_line('plan')}. Four generated {args.seconds / 60:g}-minute 1280x720 30 fps H.264 files (x264 "
        "veryfast, CRF 23, GOP 250, 3 B-frames) with changes at known times, numbers scaled to one hour; budget "
        f"{s.token_budget_per_hour:,} visual tokens an hour. A change is seen when an asked sample time lies in "
        "[change, change + 1 s] (or + 2 s). GPU seconds are **not measured**: they assume a prefill rate of "
        f"{rates} on one H100 (989 TFLOP/s BF16 dense, NVIDIA's datasheet, at 40 % utilisation; 2 FLOPs per "
        "parameter per token for the language model, 3.09 B / 7.61 B parameters, plus the 0.67 B vision encoder on "
        "4 patches a token).",
        "",
        *lines,
    ])
    print(body)
    if not args.no_doc:
        write_block("plan", "Plan (`bench/plan.py`)", body)


if __name__ == "__main__":
    main()
