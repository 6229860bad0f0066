"""Visual moments in search, on SQLite and PostgreSQL: found by their labels' text when there is no
image-text model ("a dog" finds the dog's shot), the kind filter "visual", a text query matched in
the visual space through an image-text model's text tower with the visual floor (by exact
cosines either side of it), and the two spaces' persisted indexes side by side through the same
index code."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from model.vision.clip import ImageTextEmbedder
from tests.factories.moments import embed
from tests.factories.rows import make_video
from video_qa.analyzers import get_embedder
from video_qa.config import get_settings
from video_qa.db import unit_of_work
from video_qa.models import MomentKind
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment
from video_qa.search import VISUAL_FLOOR, Filters, VisualQuery, release_vector_index, search
from video_qa.search.index import build, generation, location
from video_qa.search.index.build import rebuild_index
from video_qa.search.index.generation import read_manifest
from video_qa.search.index.location import index_folder, use_index_dir
from video_qa.search.index.registry import vector_candidates
from video_qa.search.index.space import TEXT, visual_space
from videoqa_cli.commands.index import cmd_reindex

VISUAL = MomentKind.visual.value
# (start, end, labels as the pipeline writes them as text)
SHOTS = [(0.0, 4.0, "Samoyed; dog; 1 face; person"), (4.0, 8.0, "tabby; cat"), (8.0, 12.0, "pool table"),
         (12.0, 16.0, "")]


def _visual_moments(shots: list[tuple[float, float, str]], embedder, vectors: list[np.ndarray] | None = None,  # type: ignore[no-untyped-def]
                    model: str = "") -> list[NewMoment]:
    texts = [text for _, _, text in shots]
    embedded = dict(zip([t for t in texts if t], embed(embedder, [t for t in texts if t])))
    return [NewMoment(start, end, text, {"start_uncertainty": 0.25, "end_uncertainty": 0.25, "keyframe": start + 1.0,
                                         "labels": []},
                      embedded.get(text), None if vectors is None else vectors[i], model or None)
            for i, (start, end, text) in enumerate(shots)]


@pytest.fixture()
def labelled(engine: Engine) -> Iterator[Engine]:
    """A video with four labelled shots (the last without labels) and a spoken sentence."""
    embedder = get_embedder(get_settings())
    with unit_of_work(engine) as session:
        video = make_video(session, title="park", status="ready", duration=16.0)
        replace_moments(session, video.id, None, 0, VISUAL, _visual_moments(SHOTS, embedder))
        replace_moments(session, video.id, None, 0, "speech", [NewMoment(
            1.0, 3.0, "look at the dog running", {}, embed(embedder, ["look at the dog running"])[0])])
    yield engine
    release_vector_index(engine)


def _hits(engine: Engine, query: str, filters: Filters = Filters(), visual: VisualQuery | None = None
          ) -> list[tuple[str, float, float, str]]:
    with unit_of_work(engine) as session:
        return [(h.kind, h.start, h.end, h.text) for h in search(session, engine, query, get_embedder(get_settings()),
                                                                 filters, visual=visual)]


def test_labels_find_their_shot_without_an_image_text_model(labelled) -> None:  # type: ignore[no-untyped-def]
    engine = labelled
    dog = _hits(engine, "a dog")
    assert (VISUAL, 0.0, 4.0, "Samoyed; dog; 1 face; person") in dog
    assert ("speech", 1.0, 3.0, "look at the dog running") in dog  # each keeps its own times: kinds never merge
    assert [h for h in _hits(engine, "a dog", Filters(kinds=(VISUAL,)))] == [(VISUAL, 0.0, 4.0, "Samoyed; dog; 1 face; person")]
    assert _hits(engine, "cat")[0] == (VISUAL, 4.0, 8.0, "tabby; cat")
    assert _hits(engine, "a pool table", Filters(kinds=(VISUAL,))) == [(VISUAL, 8.0, 12.0, "pool table")]
    assert _hits(engine, "qwxzt vrrbl") == []  # nonsense still finds nothing
    assert _hits(engine, "cat", Filters(kinds=("speech",))) == []


def _at_cosine(query: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine with the unit ``query`` is exactly ``cosine``."""
    other = np.random.default_rng(seed).normal(size=query.shape)
    other -= (other @ query) * query
    other /= np.linalg.norm(other)
    return (cosine * query + np.sqrt(1 - cosine ** 2) * other).astype(np.float32)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> ImageTextEmbedder:
    """The tiny random-weight image-text twin (built offline): its text tower is real code with
    random weights, so a query's vector is known exactly and the stored vectors' cosines with it
    are chosen by the test."""
    pytest.importorskip("open_clip", reason="open_clip_torch (builds and exports the twin) is not installed")
    embedder = ImageTextEmbedder("tiny", tmp_path_factory.mktemp("twin-models"))
    embedder.load()
    return embedder


def test_a_text_query_is_matched_in_the_visual_space_with_its_own_floor(engine: Engine, twin: ImageTextEmbedder
                                                                        ) -> None:
    embedder = get_embedder(get_settings())
    model = twin.name
    query = twin.encode_query("a red car at night")
    cosines = [0.9, VISUAL_FLOOR + 0.01, VISUAL_FLOOR - 0.01, 0.05]  # the shots of SHOTS, in order (no labels)
    shots = [(s, e, "") for s, e, _ in SHOTS]
    with unit_of_work(engine) as session:
        video = make_video(session, title="street", status="ready", duration=16.0)
        replace_moments(session, video.id, None, 0, VISUAL, _visual_moments(
            shots, embedder, [_at_cosine(query, c, i) for i, c in enumerate(cosines)], model))
    visual = VisualQuery(model, twin)
    try:
        # best 0.9: only what lies within the margin of it
        assert _hits(engine, "a red car at night", visual=visual) == [(VISUAL, 0.0, 4.0, "")]
        with unit_of_work(engine) as session:
            found = dict(vector_candidates(session, engine, query, space=visual_space(model)))
        assert sorted(round(s, 4) for s in found.values()) == sorted(round(c, 4) for c in cosines)
        assert _hits(engine, "a red car at night", Filters(start=4.5), visual=visual) == [(VISUAL, 4.0, 8.0, "")]  # 0.29
        assert _hits(engine, "a red car at night", Filters(start=8.5), visual=visual) == []  # 0.27, 0.05: below
        assert _hits(engine, "a red car at night") == []  # without the tower the visual space is not asked
        assert _hits(engine, "a red car at night", visual=VisualQuery("another model", twin)) == []
    finally:
        release_vector_index(engine)


def test_the_two_spaces_have_their_own_index_beside_each_other(engine: Engine, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(location, "_named", {})
    use_index_dir(engine, tmp_path / "index")
    monkeypatch.setattr(build, "PQ_BYTES", 16)
    monkeypatch.setattr(generation, "BUILD_AT", 1_000)
    release_vector_index(engine)
    rng = np.random.default_rng(5)
    n, model = 1_200, "pooled features"
    text_vectors = rng.normal(size=(n, 384)).astype(np.float32)
    image_vectors = rng.normal(size=(n, 48)).astype(np.float32)
    text_vectors /= np.linalg.norm(text_vectors, axis=1, keepdims=True)
    image_vectors /= np.linalg.norm(image_vectors, axis=1, keepdims=True)
    with unit_of_work(engine) as session:
        video = make_video(session, status="ready")
        replace_moments(session, video.id, None, 0, "speech",
                        [NewMoment(i, i + 1.0, f"s{i}", {}, text_vectors[i]) for i in range(n)])
        replace_moments(session, video.id, None, 0, VISUAL,
                        [NewMoment(i, i + 1.0, "", {}, None, image_vectors[i], model) for i in range(n)])
        speech_ids = [m.id for m in sorted(video.moments, key=lambda m: m.start) if m.kind == "speech"]
        visual_ids = [m.id for m in sorted(video.moments, key=lambda m: m.start) if m.kind == VISUAL]
    space = visual_space(model)
    try:
        assert rebuild_index(engine)["count"] == n  # type: ignore[index]
        assert rebuild_index(engine, space=space)["count"] == n  # type: ignore[index]
        text_folder, image_folder = index_folder(engine), index_folder(engine, space=space)
        assert text_folder is not None and image_folder is not None
        assert image_folder.parent == text_folder.parent and image_folder.name == text_folder.name + space.suffix
        assert read_manifest(text_folder)["space"] == "text"  # type: ignore[index]
        assert read_manifest(image_folder)["space"] == f"visual:{model}"  # type: ignore[index]
        assert read_manifest(image_folder)["dim"] == 48  # type: ignore[index]
        with unit_of_work(engine) as session:
            for i in (3, 700):
                assert vector_candidates(session, engine, text_vectors[i], limit=1, space=TEXT)[0][0] == speech_ids[i]
                assert vector_candidates(session, engine, image_vectors[i], limit=1, space=space)[0][0] == visual_ids[i]
        # videoqa reindex rebuilds both, each in its folder under the settings' index folder
        url = engine.url.render_as_string(hide_password=False) if engine.dialect.name != "sqlite" \
            else f"sqlite:///{engine.url.database}"
        monkeypatch.setenv("VIDEOQA_DATABASE_URL", url)
        monkeypatch.setenv("VIDEOQA_DATA_DIR", str(tmp_path / "data"))
        get_settings.cache_clear()
        capsys.readouterr()
        assert cmd_reindex(get_settings(), argparse.Namespace(json=True)) == 0
        said = json.loads(capsys.readouterr().out)
        assert (said["count"], said["generation"]) == (n, 1)
        ((visual,),) = [said["visual"]]
        assert (visual["model"], visual["count"], visual["generation"]) == (model, n, 1)
        assert visual["folder"] == str(index_folder(engine, tmp_path / "data" / "index", space))
        assert read_manifest(Path(visual["folder"]))["count"] == n  # type: ignore[index]
    finally:
        release_vector_index(engine)
