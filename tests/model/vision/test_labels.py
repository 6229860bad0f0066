"""A keyframe's labels with the scores that decided them."""

from __future__ import annotations

import numpy as np
import pytest

from model.vision.classify import ImageNetClassifier
from model.vision.clip import ImageTextEmbedder
from model.vision.faces import FaceDetector
from model.vision.labels import (CLASS_MIN_SCORE, COLOUR_BARS, COLOUR_MIN_SHARE, COLOUR_NAMES, COLOUR_SAMPLE_SIDE,
                                 FACE_MIN_SCORE, GROUP_MIN_SCORE, MAX_COLOURS, ZERO_SHOT_PROMPT, Label, ShotLabeler,
                                 colour_labels, colour_map, nearest_colours, srgb_to_lab)
from tests.model.vision.conftest import photo, scaled
from video_qa.search.query import words


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
    shot = ShotLabeler(None, None, twin, colours=False).label(photo("coffee"))
    assert shot.labels == []
    assert by_vocabulary(ShotLabeler(None, None, twin).label(photo("coffee")).labels, "zero-shot") == {}


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
    assert shots["astronaut"].text() == "1 face; person; grey (gray); black; brown"  # the colours: the suit, the dark
    assert shots["astronaut"].meaning() == "person"  # no count and no colours: what is in the shot
    assert "1 face" in shots["camera"].text() and "face" not in shots["camera"].meaning()
    assert shots["chelsea"].meaning() == "tiger cat; Egyptian cat; cat"  # its text less its colours
    assert shots["chelsea"].text() == "tiger cat; Egyptian cat; cat; brown; grey (gray)"
    embedder = get_embedder(load_settings())
    assert embedder is not None
    query = embedder.encode_query("astronaut")

    def nearest(texts: dict[str, str]) -> list[str]:
        vectors = embedder.encode(list(texts.values()))
        return [name for _, name in sorted(zip((-(vectors @ query)).tolist(), texts, strict=True))]

    # what the shot's text embedding is made of: the count made the astronaut's labels no nearer than the cat's
    assert nearest({name: shot.meaning() for name, shot in shots.items()})[0] == "astronaut"
    assert nearest({name: shot.text() for name, shot in shots.items()})[0] != "astronaut"


# Frames of ffmpeg's lavfi sources as a shot gives them to the labeler (issue 28): (source, frame number, the
# keyframe's shorter side, or None for the whole frame, which the labeler scales to 640 pixels), and for the fractals
# the box MTCNN finds there (its score and width in the picture it looked at), once labelled "1 face; person".
FRACTALS = {
    "mandelbrot 1280x720 frame 53, keyframe": ("mandelbrot=size=1280x720:rate=30", 53, 256, 0.9532, 15.1),
    "mandelbrot 1280x720 frame 86, whole": ("mandelbrot=size=1280x720:rate=30", 86, None, 0.9590, 16.9),
    "mandelbrot 1280x720 frame 72, whole": ("mandelbrot=size=1280x720:rate=30", 72, None, 0.9464, 24.5),
    "mandelbrot 640x480 frame 112, keyframe": ("mandelbrot=size=640x480:rate=25", 112, 256, 0.9294, 23.8),
}
PATTERNS = {name: (f"{name}=size=1280x720:rate=30", 60, 256) for name in ("testsrc2", "smptebars", "cellauto", "life")}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    from PIL import Image

    from tests.factories.media import ffmpeg
    from video_qa.analysis.visual.collect import small_copy

    folder = tmp_path_factory.mktemp("synthetic")
    frames = {}
    for name, (source, number, side, *_) in {**FRACTALS, **PATTERNS}.items():
        path = folder / f"{len(frames)}.png"
        ffmpeg("-f", "lavfi", "-i", source, "-vf", f"select=eq(n\\,{number})", "-frames:v", "1", str(path))
        frame = np.asarray(Image.open(path).convert("RGB"))
        frames[name] = frame if side is None else small_copy(frame, side)
    return frames


@pytest.mark.parametrize("name", list(FRACTALS))
def test_a_fractal_has_no_face(labeler: ShotLabeler, faces: FaceDetector, synthetic: dict[str, np.ndarray],
                               name: str) -> None:
    from model.vision.labels import FACE_MAX_SIDE, _scaled

    *_, score, width = FRACTALS[name]
    frame = synthetic[name]
    found = faces.detect(_scaled(frame, FACE_MAX_SIDE)[0])  # what the labeler looks at
    best = found[0]
    assert best.score == pytest.approx(score, abs=0.005) and best.box[2] - best.box[0] == pytest.approx(width, abs=1.0)
    assert best.score >= 0.9  # a face under the old rule (probability 0.9 only)
    # dropped by one bound or the other: below FACE_MIN_SCORE, or narrower than the smallest face looked for
    assert all(f.score < FACE_MIN_SCORE or f.box[2] - f.box[0] < faces.min_face for f in found)
    shot = labeler.label(frame)
    assert shot.faces == [] and by_vocabulary(shot.labels, "faces") == {}
    assert "face" not in shot.text() and "person" not in shot.text()


@pytest.mark.parametrize("name", list(PATTERNS))
def test_test_patterns_have_no_face(labeler: ShotLabeler, synthetic: dict[str, np.ndarray], name: str) -> None:
    shot = labeler.label(synthetic[name])
    assert shot.faces == [] and by_vocabulary(shot.labels, "faces") == {}


def test_the_astronaut_has_one_face_where_her_face_is(labeler: ShotLabeler) -> None:
    (face,) = labeler.label(photo("astronaut")).faces  # 512x512: looked at as it is
    assert np.abs(np.array(face.box) - np.array([181.1, 62.2, 267.7, 172.1])).max() <= 1.0
    assert face.score >= 0.9999
    (left_eye, right_eye, nose, left_mouth, right_mouth) = face.landmarks
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(left_mouth[1], right_mouth[1])
    assert np.abs(np.array(face.landmarks) - np.array([(205, 102), (247, 104), (225, 129), (202, 139), (245, 142)])).max() <= 2


def test_the_cameramans_small_face_is_kept(labeler: ShotLabeler, faces: FaceDetector) -> None:
    import skimage.data

    from video_qa.analysis.visual.collect import small_copy

    key = small_copy(np.stack([skimage.data.camera()] * 3, axis=-1), 256)  # a shot's keyframe: 256x256
    (face,) = labeler.label(key).faces
    assert face.score >= 0.999 and faces.min_face <= face.box[2] - face.box[0] <= 30


# The colour vocabulary (issue 28: a shot of colour bars or of a blue background had no label at all).


def colour_frame(tmp_path_factory: pytest.TempPathFactory, source: str) -> np.ndarray:
    """One 320x240 frame of the lavfi graph ``source`` (``{size}`` stands for the size), as RGB."""
    from PIL import Image

    from tests.factories.media import ffmpeg

    path = tmp_path_factory.mktemp("colours") / "frame.png"
    ffmpeg("-f", "lavfi", "-i", source.format(size="size=320x240:rate=1"), "-frames:v", "1", str(path))
    return np.asarray(Image.open(path).convert("RGB"))


def colours(frame: np.ndarray) -> list[tuple[str, float]]:
    return [(label.label, round(label.score, 4)) for label in colour_labels(frame)]


def test_srgb_to_lab_is_scikit_images_rgb2lab() -> None:
    color = pytest.importorskip("skimage.color", reason="scikit-image is not installed")
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.abs(srgb_to_lab(rgb) - color.rgb2lab(rgb)).max() < 1e-3
    extremes = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    assert np.abs(srgb_to_lab(extremes) - color.rgb2lab(extremes)).max() < 1e-3


def test_colours_are_named_by_the_nearest_prototype_in_lab() -> None:
    named = {(0, 0, 128): "blue", (0, 128, 128): "blue", (0, 255, 255): "blue", (128, 128, 0): "green",
             (250, 128, 114): "pink", (210, 180, 140): "brown", (192, 192, 192): "grey (gray)",
             (105, 105, 105): "grey (gray)", (30, 30, 30): "black", (245, 245, 245): "white", (220, 20, 60): "red",
             (255, 140, 0): "orange", (255, 215, 0): "yellow", (75, 0, 130): "purple", (191, 0, 191): "purple"}
    rgb = np.array(list(named), dtype=np.uint8)
    assert [COLOUR_NAMES[i] for i in nearest_colours(rgb)] == list(named.values())
    assert set(COLOUR_NAMES) == {"black", "white", "grey (gray)", "red", "orange", "yellow", "green", "blue",
                                 "purple", "pink", "brown"}  # Berlin & Kay's 11 basic colour terms
    # the table names a pixel as its cell's centre: the exact nearest for all but the colours near a border
    random = np.random.default_rng(1).integers(0, 256, (COLOUR_SAMPLE_SIDE, COLOUR_SAMPLE_SIDE, 3), dtype=np.uint8)
    assert 0.95 <= float((colour_map(random) == nearest_colours(random)).mean()) < 1.0


def test_a_blue_frame_is_blue(tmp_path_factory: pytest.TempPathFactory) -> None:
    frame = colour_frame(tmp_path_factory, "color=c=blue:{size}")
    assert colours(frame) == [("blue", 1.0)]
    assert ShotLabeler(None, None).label(frame).text() == "blue"
    assert ShotLabeler(None, None).name == "colour names"


def test_blue_with_a_yellow_square_of_a_fifth_is_blue_then_yellow(tmp_path_factory: pytest.TempPathFactory) -> None:
    frame = colour_frame(tmp_path_factory, "color=c=blue:{size},drawbox=x=98:y=58:w=124:h=124:color=yellow:t=fill")
    assert 124 * 124 / (320 * 240) == pytest.approx(0.2, abs=0.001)
    (blue, blue_share), (yellow, yellow_share) = colours(frame)
    assert (blue, yellow) == ("blue", "yellow")
    assert blue_share == pytest.approx(0.8, abs=0.01) and yellow_share == pytest.approx(0.2, abs=0.01)
    shot = ShotLabeler(None, None).label(frame)
    assert shot.text() == "blue; yellow" and shot.meaning() == "blue; yellow"  # colours only: embedded as such


def test_a_grey_frame_is_grey_in_both_spellings(tmp_path_factory: pytest.TempPathFactory) -> None:
    frame = colour_frame(tmp_path_factory, "color=c=gray:{size}")
    assert colours(frame) == [("grey (gray)", 1.0)]
    assert {"grey", "gray"} <= set(words(ShotLabeler(None, None).label(frame).text()))


def test_a_small_patch_is_not_a_colour_of_the_shot() -> None:
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    frame[:, :, 2] = 255
    frame[:60, :80] = (255, 0, 0)  # a sixteenth
    assert colours(frame) == [("blue", pytest.approx(0.9375, abs=0.01))]
    assert COLOUR_MIN_SHARE == 0.15 and MAX_COLOURS == 3


# lavfi sources with vertical bars of colour (SMPTE's, EBU's, ffmpeg's own test sources) and without
BARS = ("smptebars", "smptehdbars", "pal75bars", "pal100bars", "testsrc", "testsrc2")
NO_BARS = ("rgbtestsrc", "yuvtestsrc", "mandelbrot", "cellauto", "life", "color=c=blue")


@pytest.mark.parametrize("source", BARS + NO_BARS)
def test_colour_bars_are_told_from_other_patterns(tmp_path_factory: pytest.TempPathFactory, source: str) -> None:
    frame = colour_frame(tmp_path_factory, source + (":{size}" if "=" in source else "={size}"))
    found = dict(colours(frame))
    assert (found.get(COLOUR_BARS) == 1.0) is (source in BARS)
    assert len(found) - (COLOUR_BARS in found) <= MAX_COLOURS


def test_smptebars_has_the_colours_of_its_bars_and_both_spellings(
        tmp_path_factory: pytest.TempPathFactory, synthetic: dict[str, np.ndarray]) -> None:
    frame = colour_frame(tmp_path_factory, "smptebars={size}")
    assert colours(frame) == [("blue", pytest.approx(0.211, abs=0.01)), ("black", pytest.approx(0.194, abs=0.01)),
                              (COLOUR_BARS, 1.0)]  # the cyan and blue bars and the blue stripes below them
    keyframe = [label for label, _ in colours(synthetic["smptebars"])]  # 1280x720's keyframe, 455x256
    assert keyframe == ["blue", "black", "purple", COLOUR_BARS]  # magenta's bar and stripes
    assert {"colour", "color", "bars"} <= set(words(COLOUR_BARS))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_photographs_are_not_colour_bars(name: str) -> None:
    found = colours(photo(name))
    assert COLOUR_BARS not in dict(found) and 1 <= len(found) <= MAX_COLOURS
    assert all(share >= COLOUR_MIN_SHARE for _, share in found)
    assert [share for _, share in found] == sorted((share for _, share in found), reverse=True)


def test_the_astronaut_keeps_her_face_and_the_cat_its_classes_beside_their_colours(labeler: ShotLabeler) -> None:
    astronaut = labeler.label(photo("astronaut"))
    assert by_vocabulary(astronaut.labels, "faces") == {"1 face": astronaut.faces[0].score,
                                                        "person": astronaut.faces[0].score}
    assert [label.label for label in astronaut.labels if label.vocabulary == "colours"] == [
        "grey (gray)", "black", "brown"]
    cat = labeler.label(photo("chelsea"))
    assert {"tiger cat", "Egyptian cat"} <= set(by_vocabulary(cat.labels, "imagenet"))
    assert "cat" in by_vocabulary(cat.labels, "imagenet-group")
    assert list(by_vocabulary(cat.labels, "colours")) == ["brown", "grey (gray)"]
    vocabularies = [label.vocabulary for label in cat.labels]
    assert vocabularies == sorted(vocabularies, key=["imagenet", "imagenet-group", "faces", "colours"].index)
    assert cat.text().endswith("; brown; grey (gray)") and "brown" not in cat.meaning()
    assert "brown" not in ShotLabeler(labeler.classifier, labeler.faces, colours=False).label(photo("chelsea")).text()
