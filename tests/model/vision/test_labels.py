"""A keyframe's labels with the scores that decided them."""

from __future__ import annotations

import numpy as np
import pytest

from model.vision.classify import ImageNetClassifier
from model.vision.clip import ImageTextEmbedder
from model.vision.faces import FaceDetector
from model.vision.labels import (CLASS_MIN_SCORE, FACE_MIN_SCORE, GROUP_MIN_SCORE, ZERO_SHOT_PROMPT, Label,
                                 ShotLabeler)
from tests.model.vision.conftest import photo, scaled


@pytest.fixture(scope="module")
def labeler(classifier: ImageNetClassifier, faces: FaceDetector) -> ShotLabeler:
    return ShotLabeler(classifier, faces)


def by_vocabulary(labels: list[Label], vocabulary: str) -> dict[str, float]:
    return {label.label: label.score for label in labels if label.vocabulary == vocabulary}


def test_a_cat_is_labelled_cat_with_its_scores(labeler: ShotLabeler, classifier: ImageNetClassifier) -> None:
    frame = photo("chelsea")
    shot = labeler.label(frame)
    classes = by_vocabulary(shot.labels, "imagenet")
    probabilities = classifier.probabilities([frame])[0]
    names = classifier.classes
    expected = {names[i]: float(probabilities[i]) for i in np.argsort(-probabilities)[:5]
                if probabilities[i] >= CLASS_MIN_SCORE}
    assert classes == pytest.approx(expected) and {"tiger cat", "Egyptian cat"} <= set(classes)
    assert by_vocabulary(shot.labels, "imagenet-group") == pytest.approx({"cat": dict(classifier.groups(probabilities[None])[0])["cat"]})
    assert by_vocabulary(shot.labels, "faces") == {} and shot.faces == []
    assert all(label.score >= CLASS_MIN_SCORE for label in shot.labels if label.vocabulary == "imagenet")
    assert shot.size == (451, 300)
    assert "tiger cat" in shot.text() and "cat" in shot.text().split("; ")


def test_a_person_is_one_face_and_a_person(labeler: ShotLabeler) -> None:
    shot = labeler.label(photo("astronaut"))
    faces = by_vocabulary(shot.labels, "faces")
    assert set(faces) == {"1 face", "person"}
    assert len(shot.faces) == 1 and faces["person"] == shot.faces[0].score >= FACE_MIN_SCORE
    assert by_vocabulary(shot.labels, "imagenet-group") == {}  # no group reaches GROUP_MIN_SCORE
    assert GROUP_MIN_SCORE == 0.5


def test_face_boxes_are_in_the_frames_own_pixels(labeler: ShotLabeler, faces: FaceDetector) -> None:
    small = scaled(photo("astronaut"), 640)
    large = scaled(photo("astronaut"), 1280)  # looked at scaled to 640, boxes scaled back
    (small_face,), (large_face,) = labeler.label(small).faces, labeler.label(large).faces
    assert np.abs(np.array(large_face.box) / 2 - np.array(small_face.box)).max() <= 3.0
    assert labeler.label(large).size == (1280, 1280)


def test_several_faces_are_counted_as_people(labeler: ShotLabeler) -> None:
    from tests.model.vision.test_faces import trio

    shot = labeler.label(trio())
    faces = by_vocabulary(shot.labels, "faces")
    assert set(faces) == {"3 faces", "people"}
    assert faces["people"] == min(face.score for face in shot.faces)


def test_label_many_equals_label_one_by_one(labeler: ShotLabeler) -> None:
    frames = [photo("chelsea"), photo("coffee"), photo("astronaut")]
    together = labeler.label_many(frames)
    for frame, shot in zip(frames, together, strict=True):
        alone = labeler.label(frame)
        assert [(l.vocabulary, l.label) for l in shot.labels] == [(l.vocabulary, l.label) for l in alone.labels]
        assert [l.score for l in shot.labels] == pytest.approx([l.score for l in alone.labels], abs=1e-6)


def test_a_test_model_gives_no_zero_shot_labels_unless_asked(twin: ImageTextEmbedder) -> None:
    assert ShotLabeler(None, None, twin).embedder is None
    shot = ShotLabeler(None, None, twin).label(photo("coffee"))
    assert shot.labels == []


def test_zero_shot_scores_are_the_softmax_over_the_vocabulary(twin: ImageTextEmbedder) -> None:
    vocabulary = ("a cat", "a cup of coffee", "a rocket", "a person")
    labeler = ShotLabeler(None, None, twin, vocabulary=vocabulary, zero_shot_on_test_models=True)
    frame = photo("coffee")
    image = twin.encode_images([frame])[0]
    prompts = twin.encode_text([ZERO_SHOT_PROMPT.format(v) for v in vocabulary])
    logits = 100 * prompts @ image
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    scores = dict(labeler.zero_shot(image[None])[0])
    assert [scores[v] for v in vocabulary] == pytest.approx(expected.tolist(), abs=1e-5)
    kept = by_vocabulary(labeler.label(frame, image_vector=image).labels, "zero-shot")
    assert kept == pytest.approx({v: s for v, s in scores.items() if s >= 0.3}, abs=1e-6)


def test_a_shots_labels_are_embedded_without_the_face_count_so_astronaut_finds_the_person(labeler: ShotLabeler) -> None:
    from video_qa.analyzers import get_embedder
    from video_qa.config import load_settings

    import skimage.data

    grey = skimage.data.camera()  # a man with a camera on a tripod, grey
    frames = {"astronaut": photo("astronaut"), "chelsea": photo("chelsea"), "camera": np.stack([grey] * 3, axis=-1)}
    shots = {name: labeler.label(frame) for name, frame in frames.items()}
    assert shots["astronaut"].text() == "1 face; person" and shots["astronaut"].meaning() == "person"
    assert "1 face" in shots["camera"].text() and "face" not in shots["camera"].meaning()
    assert shots["chelsea"].meaning() == shots["chelsea"].text() and "cat" in shots["chelsea"].text().split("; ")
    embedder = get_embedder(load_settings())
    assert embedder is not None
    query = embedder.encode_query("astronaut")

    def nearest(texts: dict[str, str]) -> list[str]:
        vectors = embedder.encode(list(texts.values()))
        return [name for _, name in sorted(zip((-(vectors @ query)).tolist(), texts, strict=True))]

    # what the shot's text embedding is made of: the count made the astronaut's labels no nearer than the cat's
    assert nearest({name: shot.meaning() for name, shot in shots.items()})[0] == "astronaut"
    assert nearest({name: shot.text() for name, shot in shots.items()})[0] != "astronaut"
