"""A clip's visual moments: each shot's keyframe embedded and labelled, in batches.

The image vector of a shot is the image-text model's (``Backends.image_embedder``) where one is
configured, else the ImageNet classifier's pooled features (``model.vision.classify``) where
labels are on: real weights either way, so "find similar" works on a CPU with no hub. The
moment's text is its labels as words (``ShotLabels.text``: "tabby; cat; 1 face; person"), found
by full text; its text embedding is of the labels without the face count ("tabby; cat; person":
``ShotLabels.meaning``); a shot without labels has the text "" and is found through its image
vector only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from video_qa.analysis.embed import embed_moments
from video_qa.analysis.timing import StageClock
from video_qa.analysis.visual.collect import ShotFrames
from video_qa.analysis.visual.shots import Shot
from video_qa.analyzers import Backends
from video_qa.media.plan import ClipPlan
from video_qa.moments.values import NewMoment

if TYPE_CHECKING:
    from model.vision.labels import ShotLabels

POOLED_FEATURES = "efficientnet-lite0 pooled features (1280)"  # the image model's name for those vectors


def _r(x: float) -> float:
    return round(float(x), 3)


def _moment(shot: Shot, key_time: float, clip: ClipPlan, labels: ShotLabels | None, vector: np.ndarray | None,
            model: str | None, sampling: float, labeler: str) -> NewMoment:
    found = [] if labels is None else labels.labels
    meta = {
        "start_uncertainty": _r(shot.start_uncertainty), "end_uncertainty": _r(shot.end_uncertainty),
        "keyframe": _r(key_time), "sampling": _r(sampling),
        "labels": [{"vocab": label.vocabulary, "label": label.label, "score": round(float(label.score), 4)}
                   for label in found],
        "faces": 0 if labels is None else len(labels.faces), "visual_model": model or "", "labeler": labeler,
        "open_start": shot.open_start, "open_end": shot.open_end, "clips": [clip.index],
    }
    text = "" if labels is None else labels.text()
    return NewMoment(_r(shot.start), _r(shot.end), text, meta, None, vector, model)


def look(frames: ShotFrames, clip: ClipPlan, backends: Backends, clock: StageClock, sampling: float,
         max_shot: float, cuts: Sequence[Sequence[float]] | None = None) -> list[NewMoment]:
    """The clip's visual moments from its collected samples (one per shot; see module doc)."""
    shots = frames.shots(clip, max_shot, cuts)
    if not shots:
        return []
    key_times = [frames.times[shot.keyframe(frames.times)] for shot in shots]
    keyframes = frames.keyframes(shots)
    with clock("look"):
        vectors: np.ndarray | None = None
        model: str | None = None
        if backends.image_embedder is not None:
            vectors, model = backends.image_embedder.encode_images(keyframes), backends.image_embedder.name
        labelled: list[ShotLabels | None] = [None] * len(shots)
        if backends.labeler is not None:
            labelled = list(backends.labeler.label_many(keyframes, vectors))
            pooled = [labels.features for labels in labelled if labels is not None and labels.features is not None]
            if vectors is None and len(pooled) == len(shots):
                vectors, model = np.stack(pooled), POOLED_FEATURES
    labeler = backends.labeler.name if backends.labeler is not None else "no labels"
    moments = [_moment(shot, t, clip, labels, None if vectors is None else vectors[i], model, sampling, labeler)
               for i, (shot, t, labels) in enumerate(zip(shots, key_times, labelled, strict=True))]
    with clock("embed"):
        said = [(m, labels) for m, labels in zip(moments, labelled, strict=True) if m.text and labels is not None]
        embed_moments([m for m, _ in said], backends.embedder, [labels.meaning() for _, labels in said])
    return moments
