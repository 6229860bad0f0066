"""A tiny random-weight open_clip model, built offline, saved as an open_clip model folder.

The folder is what a hub snapshot of an open_clip model holds (``open_clip_config.json`` with
``model_cfg`` and ``preprocess_cfg``, ``open_clip_model.safetensors``), so the real loading code
(``local-dir:``), the ONNX export of both towers and ONNX Runtime run on it. Its vision tower is a
2-block ViT on 64-pixel images, its text tower a 2-block transformer over open_clip's own BPE
vocabulary (the file inside the open_clip wheel) with the usual 77-token context. The weights are
drawn from a fixed seed, so every build is the same model; its vectors are meaningless. The config
carries ``videoqa_tiny_random: true``: the backend's name then says "tiny random-weight test
model" and ``is_twin`` is true, so the UI and API can say so.

    python -m model.vision.twin /path/to/folder
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TWIN_MARKER = "videoqa_tiny_random"  # in open_clip_config.json
CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"

MODEL_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PREPROCESS_CFG: dict[str, Any] = {
    "mean": [0.48145466, 0.4578275, 0.40821073],  # OpenAI CLIP's
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


def build_twin(folder: str | Path, seed: int = 0) -> Path:
    """Write the tiny random-weight open_clip model to ``folder``; returns it."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**MODEL_CFG).eval()
    state = {name: tensor.detach().contiguous().clone() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG, TWIN_MARKER: True}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    log.info("tiny random-weight open_clip model written to %s", folder)
    return folder


def is_twin_folder(folder: str | Path) -> bool:
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return False
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get(TWIN_MARKER))
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder")
    print(build_twin(parser.parse_args().folder))


if __name__ == "__main__":
    main()
