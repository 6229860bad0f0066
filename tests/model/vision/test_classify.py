"""The ImageNet classifier (EfficientNet-Lite0 from its wheel) on photographs that ship in packages."""

from __future__ import annotations

import numpy as np

from model.vision.classify import GROUPS, PREPROCESS, ImageNetClassifier, export_location, group_members
from model.vision.exports import file_sha256, read_manifest
from tests.model.vision.conftest import photo

DOMESTIC_CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


def test_a_cat_photograph_is_a_cat(classifier: ImageNetClassifier) -> None:
    top = classifier.top([photo("chelsea")], k=5)[0]
    assert {name for name, _ in top[:3]} <= DOMESTIC_CATS
    assert sum(score for name, score in top if name in DOMESTIC_CATS) >= 0.8
    groups = dict(classifier.groups(classifier.probabilities([photo("chelsea")]))[0])
    assert groups["cat"] >= 0.8
    assert max(score for name, score in groups.items() if name != "cat") < 0.1


def test_a_coffee_photograph_is_an_espresso(classifier: ImageNetClassifier) -> None:
    (name, score), *_ = classifier.top([photo("coffee")], k=5)[0]
    assert name == "espresso" and score >= 0.8
    assert dict(classifier.groups(classifier.probabilities([photo("coffee")]))[0])["food"] >= 0.8


def test_probabilities_are_a_distribution_per_frame_and_batches_agree(classifier: ImageNetClassifier) -> None:
    frames = [photo("chelsea"), photo("coffee"), photo("astronaut")] * 3  # more than one batch
    probabilities = classifier.probabilities(frames)
    assert probabilities.shape == (9, 1000) and probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.abs(probabilities[0] - classifier.probabilities([frames[0]])[0]).max() <= 1e-6
    assert np.abs(probabilities[0] - probabilities[3]).max() <= 1e-6


def test_onnx_equals_pytorch_on_a_photograph(classifier: ImageNetClassifier) -> None:
    import torch

    from model.vision.classify_export import load_network
    from model.vision.classify import softmax

    frame = photo("chelsea")
    with torch.no_grad():
        reference = softmax(load_network()(torch.from_numpy(PREPROCESS.batch([frame]))).numpy())
    assert np.abs(classifier.probabilities([frame]) - reference).max() <= 1e-4


def test_groups_hold_the_classes_they_are_named_for(classifier: ImageNetClassifier) -> None:
    names = classifier.classes
    members = {group: {names[i] for i in group_members(group)} for group in GROUPS}
    assert len(names) == 1000 and names[258] == "Samoyed"
    assert members["cat"] == DOMESTIC_CATS
    assert len(members["dog"]) == 118 and {"Chihuahua", "Samoyed", "Mexican hairless"} <= members["dog"]
    assert not members["dog"] & {"timber wolf", "tabby", "tench"}
    assert {"cab", "sports car", "jeep", "convertible", "limousine"} <= members["car"]
    assert {"sulphur-crested cockatoo", "great grey owl", "black swan", "albatross"} <= members["bird"]
    assert {"espresso", "pizza", "banana"} <= members["food"] and "bubble" not in members["landscape"]
    assert {"school bus", "minibus", "trolleybus"} == members["bus"]
    every = [i for group in GROUPS for i in group_members(group)]
    assert len(every) == len(set(every))  # no class is in two groups


def test_manifest_records_the_wheel_and_checksums(classifier: ImageNetClassifier) -> None:
    folder = export_location(classifier.models_dir)
    manifest = read_manifest(folder)
    assert manifest["source"]["file"].endswith("efficientnet-lite0-57934424.pth")
    assert manifest["graphs"]["classifier"]["sha256"] == file_sha256(folder / "classifier.onnx")
    assert manifest["check"]["passed"] and manifest["check"]["max_difference"] <= 1e-4
    assert classifier.why_not_ready() is None


def test_the_session_runs_without_a_cpu_memory_arena(classifier: ImageNetClassifier) -> None:
    options = classifier.load().session.get_session_options()
    assert (options.enable_cpu_mem_arena, options.intra_op_num_threads, options.inter_op_num_threads) == (False, 1, 1)
