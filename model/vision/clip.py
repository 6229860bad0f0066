"""Image-text embeddings (the CLIP family through open_clip) run by ONNX Runtime, without PyTorch.

``ImageTextEmbedder(location, models_dir)`` embeds frames (``encode_images``) and texts
(``encode_text``, ``encode_query``) into one space: L2-normalised float32 rows of ``dimension``
components, a frame and a text that match having a high dot product. ``location`` is

- a local open_clip model folder (``open_clip_config.json`` and its weights, as a hub snapshot
  holds them), or a hub id (``org/name``) of such a model, loaded from the local Hugging Face
  cache (or downloaded by the export process where a hub is reachable);
- ``tiny``: the tiny random-weight twin (``model.vision.twin``), built offline into
  ``<models>/image-text-twin/``; its vectors are meaningless and ``is_twin`` says so;
- ``random:ARCH``: an open_clip built-in architecture (``random:ViT-B-32``) with random
  weights, for measuring speed only (``is_twin`` too).

The first call exports the model once into ``<models>/image-text/`` (``model.vision.exports``):
the image tower and the text tower as two ONNX graphs, each ending in the L2 normalisation, the
tokenizer as ``tokenizer.json`` (``model.vision.clip_text``) and the image preprocessing in the
manifest (``model.vision.images``). The text tower of a CLIP model (causal attention, pooled at
the end-of-text token) takes any sequence length (the manifest's text graph says
``"sequence": "dynamic"``): a batch of texts runs trimmed after its longest text instead of padded
to the context length (77), the same vectors (the export checks both) at a fraction of the cost.
An export of an older ``EXPORT_FORMAT`` (1: padded to 77) is made again. With ``int8`` the two graphs have their matrix
multiplications (only those: ``quantize_dynamic`` with ``op_types_to_quantize=["MatMul"]``)
quantized to int8 weights; convolutions stay float (quantizing them made convolutional models
slower). Batches of ``batch_size`` frames or texts go through ONNX Runtime on ``threads``
threads. ``encode_query`` keeps the vectors of the last ``QUERY_CACHE`` query texts (per instance,
so per model and variant; ``functools.lru_cache``): a search repeated (another page, other
filters) does not run the text tower again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.sources import local_folder
from model.vision.clip_text import ClipTokens, TextSettings
from model.vision.exported import ExportedModel
from model.vision.exports import export_folder, files_identity, onnx_session
from model.vision.images import Preprocess
from model.vision.twin import CONFIG_FILE, is_twin_folder

KIND = "image-text"
TWIN = "tiny"
RANDOM = "random:"
TWIN_DIR = "image-text-twin"  # under the models folder
DEFAULT_HUB_ID = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"  # ViT-B/32 trained on LAION-2B
GRAPHS = {"image": "image.onnx", "text": "text.onnx"}
SETTING = "VIDEOQA_VISUAL_MODEL"
BATCH = 8
EXPORT_FORMAT = 2  # of an image-text export (1: text tower padded to 77 tokens; 2: any length)
QUERY_CACHE = 256  # query texts whose vectors encode_query keeps
DYNAMIC = "dynamic"  # the text graph's "sequence" in the manifest: it takes any sequence length
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth")  # what open_clip loads weights from


def twin_folder(models_dir: Path) -> Path:
    return Path(models_dir) / TWIN_DIR


def source_folder(location: str, models_dir: Path) -> Path | None:
    """The folder holding the model's files (None for ``random:`` and an uncached hub id)."""
    if location == TWIN:
        return twin_folder(models_dir)
    if location.startswith(RANDOM):
        return None
    return local_folder(location)


def source_identity(location: str, models_dir: Path) -> dict[str, Any] | None:
    """What identifies the model now: its folder and the size and modification time of its
    config and weight files; for ``random:`` the architecture and open_clip's version."""
    if location.startswith(RANDOM):
        from importlib.metadata import version

        return {"random": location[len(RANDOM):], "open_clip_torch": version("open_clip_torch")}
    folder = source_folder(location, models_dir)
    if folder is None:
        return None
    files = {}
    if folder.is_dir():
        files = {p.name: p for p in folder.iterdir() if p.name == CONFIG_FILE or p.suffix in WEIGHT_SUFFIXES}
    return {"folder": str(folder), "files": files_identity(files)}


def export_key(location: str, int8: bool) -> str:
    return f"{location}#int8" if int8 else location


def export_location(models_dir: Path, location: str, int8: bool) -> Path:
    return export_folder(models_dir, KIND, export_key(location, int8))


def is_test_model(location: str, models_dir: Path | None = None) -> bool:
    """True for the twin, ``random:`` and a folder marked as a tiny random-weight model."""
    if location == TWIN or location.startswith(RANDOM):
        return True
    path = Path(location).expanduser()
    return path.is_dir() and is_twin_folder(path)


@dataclass
class _Runtime:
    folder: Path
    manifest: dict[str, Any]
    image: Any  # onnxruntime.InferenceSession
    text: Any
    preprocess: Preprocess
    tokens: ClipTokens
    trim: bool  # the text graph takes any sequence length: run texts without the padding


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


class ImageTextEmbedder(ExportedModel[_Runtime]):
    """Frames and texts into one vector space (see module doc); safe from several threads."""

    kind = KIND
    export_format = EXPORT_FORMAT

    def __init__(self, location: str, models_dir: Path, *, int8: bool = False, batch_size: int = BATCH,
                 threads: int | None = 1) -> None:
        super().__init__(models_dir, threads)
        self.location = location
        self.int8 = bool(int8)
        self.batch_size = max(1, int(batch_size))
        self.is_twin = is_test_model(location, self.models_dir)
        variant = "int8 matrix multiplications" if self.int8 else "float32"
        if location == TWIN:
            self.name = f"tiny random-weight test model (open_clip, {variant})"
        elif location.startswith(RANDOM):
            self.name = f"open_clip {location[len(RANDOM):]} with random weights (speed only, {variant})"
        else:
            self.name = f"open_clip {location} ({variant})" + (" — tiny random-weight test model" if self.is_twin else "")
        self.missing = f"{location} is not here (no folder, not in the local Hugging Face cache)"
        self._query = functools.lru_cache(maxsize=QUERY_CACHE)(self._encode_one)

    @property
    def folder(self) -> Path:
        return export_location(self.models_dir, self.location, self.int8)

    def source(self) -> dict[str, Any] | None:
        return source_identity(self.location, self.models_dir)

    def export_argv(self) -> list[str]:
        return ["image-text", self.location, str(self.models_dir)] + (["--int8"] if self.int8 else [])

    def unavailable(self, why: str) -> str:
        return (f"{SETTING}={self.location!r}: the image-text model cannot be used ({why}); "
                f"set {SETTING} to a local open_clip model folder, a cached hub id, or 'off'")

    def _open(self, folder: Path, manifest: dict[str, Any]) -> _Runtime:
        graphs = manifest["graphs"]
        return _Runtime(folder, manifest, onnx_session(folder / graphs["image"]["file"], self.threads),
                        onnx_session(folder / graphs["text"]["file"], self.threads),
                        Preprocess.from_dict(manifest["preprocess"]),
                        ClipTokens(folder, TextSettings.from_dict(manifest["tokenizer"])),
                        graphs["text"].get("sequence") == DYNAMIC)

    @property
    def dimension(self) -> int:
        return int(self.load().manifest["dimension"])

    @property
    def image_size(self) -> int:
        return self.load().preprocess.size

    def encode_images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """(len(frames), dimension) float32, unit rows; each frame HxWx3 uint8 RGB."""
        runtime = self.load()
        parts = [np.zeros((0, self.dimension), dtype=np.float32)]
        for start in range(0, len(frames), self.batch_size):
            pixels = runtime.preprocess.batch(frames[start:start + self.batch_size])
            parts.append(runtime.image.run(None, {"pixels": pixels})[0])
        return _normalised(np.concatenate(parts))

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, unit rows."""
        runtime = self.load()
        parts = [np.zeros((0, self.dimension), dtype=np.float32)]
        for start in range(0, len(texts), self.batch_size):
            tokens = runtime.tokens(list(texts[start:start + self.batch_size]), trim=runtime.trim)
            parts.append(runtime.text.run(None, {"tokens": tokens})[0])
        return _normalised(np.concatenate(parts))

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,): a copy of the one kept for the last ``QUERY_CACHE`` texts."""
        return self._query(text).copy()

    def _encode_one(self, text: str) -> np.ndarray:
        return self.encode_text([text])[0]
