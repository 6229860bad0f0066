"""Model benchmark.

    .venv/bin/python -m bench.model

1. Visual tokens per hour of video under our default dynamic-fps plan against qwen-vl-utils'
   defaults (2 fps, 768-frame cap, its per-frame pixel limits and 128k-token total), for a
   1280x720 30 fps video of 10 min, 1 h and 3 h. Computed with qwen-vl-utils' own
   ``smart_nframes`` / ``smart_resize``, not a copy of them.
2. With a CUDA GPU: a random-weight model with the real 3B configuration in bf16 runs
   ``describe_clip`` on a 60 s clip at 2 fps; visual tokens, vision-encoder time, prefill time,
   decode tokens/s, and GPU-seconds per hour of video extrapolated. Without a GPU the row says so.

Writes its tables into docs/benchmarks.md between the model markers.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

from bench._lib import CACHE, cli
from bench._lib.report import run_line, write_block

DURATIONS = [("10 min", 600.0), ("1 h", 3600.0), ("3 h", 10800.0)]


def ours(duration: float) -> dict:
    from video_qa.config import load_settings
    from video_qa.media.plan import plan
    from video_qa.media.probe import Probe

    p = Probe(path="bench.mp4", size=10**9, container="mp4", duration=duration, video_codec="h264",
              coded_width=1280, coded_height=720, rotation=0, width=1280, height=720, nominal_fps=30.0,
              avg_fps=30.0, variable_fps=False, frame_count=int(duration * 30), time_base=Fraction(1, 15360),
              start_pts=0, has_audio=True, audio_codec="aac", bit_rate=None)
    clips = plan(p, load_settings())
    frames = sum(c.frames for c in clips)
    return {"tokens": sum(c.tokens for c in clips), "frames": frames, "largest_call": max(c.tokens for c in clips),
            "size": f"{clips[0].width}x{clips[0].height}", "calls": len(clips)}


def qwen_vl_utils_defaults(duration: float) -> dict:
    from qwen_vl_utils import vision_process as v

    factor = 14 * v.SPATIAL_MERGE_SIZE
    total_frames = int(duration * 30)
    nframes = v.smart_nframes({}, total_frames=total_frames, video_fps=30.0)
    min_pixels = v.VIDEO_MIN_TOKEN_NUM * factor * factor
    total_pixels = v.MODEL_SEQ_LEN * factor * factor * 0.9
    max_pixels = max(min(v.VIDEO_MAX_TOKEN_NUM * factor * factor, total_pixels / nframes * v.FRAME_FACTOR),
                     int(min_pixels * 1.05))
    h, w = v.smart_resize(720, 1280, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    tokens = math.ceil(nframes / 2) * (h // factor) * (w // factor)
    return {"tokens": tokens, "frames": nframes, "largest_call": tokens, "size": f"{w}x{h}", "calls": 1}


def token_table() -> list[str]:
    lines = [
        "| video | policy | frames | seconds between frames | frame size | visual tokens | tokens per hour | model calls | largest call |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, duration in DURATIONS:
        for name, fn in (("ours (default plan)", ours), ("qwen-vl-utils defaults", qwen_vl_utils_defaults)):
            r = fn(duration)
            lines.append(
                f"| {label} | {name} | {r['frames']} | {duration / r['frames']:.2f} | {r['size']} | {r['tokens']:,} | "
                f"{r['tokens'] * 3600 / duration:,.0f} | {r['calls']} | {r['largest_call']:,} |"
            )
    return lines


def gpu_rows() -> list[str]:
    import numpy as np
    import torch

    if not torch.cuda.is_available():
        return ["No CUDA GPU on the machine that ran this: the 3B-configuration timing was not measured."]
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    from model.tiny import build_tiny_model
    from model.vlm import QwenVL

    folder = CACHE / "qwen3b-random"
    build_tiny_model(folder)  # tokenizer, processor; the weights are replaced below
    cfg = AutoConfig.from_pretrained(folder)
    cfg.text_config.update({"hidden_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 16,
                            "num_key_value_heads": 2, "intermediate_size": 11008, "vocab_size": 151936})
    cfg.text_config.rope_parameters = {"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1e6}
    cfg.vision_config.update({"depth": 32, "hidden_size": 1280, "out_hidden_size": 2048, "num_heads": 16,
                              "intermediate_size": 3420, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31]})
    cfg.tie_word_embeddings = True
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(cfg).to("cuda", torch.bfloat16).eval()
    model.save_pretrained(folder)
    vlm = QwenVL(str(folder), device="cuda", max_new_tokens=128)
    vlm.load()
    frames = [np.random.default_rng(i).integers(0, 255, (378, 672, 3), dtype=np.uint8) for i in range(120)]
    inputs = vlm.build_inputs([{"type": "video"}, {"type": "text", "text": "Describe."}], [(frames, 2.0)]).to("cuda")
    visual = int(inputs["video_grid_thw"].prod(-1).sum()) // 4
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.inference_mode():
        vlm.model.model.get_video_features(inputs["pixel_values_videos"], inputs["video_grid_thw"])
    torch.cuda.synchronize()
    vision_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.inference_mode():
        vlm.model(**inputs)
    torch.cuda.synchronize()
    prefill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = vlm.model.generate(**inputs, max_new_tokens=128, min_new_tokens=128, do_sample=False)
    torch.cuda.synchronize()
    generate_s = time.perf_counter() - t0
    decode_tps = 128 / max(generate_s - prefill_s, 1e-6)
    per_clip = generate_s
    return [
        f"Device {torch.cuda.get_device_name(0)}, random weights with the 3B configuration, bf16, "
        f"one 60 s clip at 2 fps ({len(frames)} frames 672x378).",
        "",
        "| visual tokens | vision encoder s | prefill s | decode tokens/s | GPU-seconds per clip (128 new tokens) | GPU-seconds per hour of video |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {visual} | {vision_s:.2f} | {prefill_s:.2f} | {decode_tps:.1f} | {per_clip:.2f} | {per_clip * 60:.0f} |",
        f"(generated {out.shape[1] - inputs['input_ids'].shape[1]} tokens)",
    ]


def main() -> None:
    cli("model", __doc__).parse_args()
    lines = [f"{run_line('model')}. "
             "A 1280x720 30 fps video. Ours: 60 s clips, one model call each, 2 fps, budget 1.2 M tokens an hour. "
             "qwen-vl-utils: the whole video in one call, 2 fps capped at 768 frames, 128k-token total.", ""]
    lines += token_table()
    lines += ["", *gpu_rows()]
    block = "\n".join(lines)
    print(block)
    write_block("model", "Model (`bench/model.py`)", block)


if __name__ == "__main__":
    main()
