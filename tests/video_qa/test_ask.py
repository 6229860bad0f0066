"""Ask: retrieval -> spans -> exact frames -> the model; citations in absolute time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from model.vlm import Answer, Span, answer_from_text
from tests.factories.media import speech_and_caption_video
from tests.factories.pipeline import ingest, quiet_settings
from video_qa.analyzers import Backends, get_backends, get_embedder
from video_qa.ask import NO_MODEL, ask, span_plans, spans_for
from video_qa.db import unit_of_work
from video_qa.media.probe import probe
from video_qa.models import Question
from video_qa.search import Hit

SPEECH_AT = 14.0


@pytest.fixture()
def talk(tmp_path: Path, engine: Engine) -> tuple[int, Path]:
    settings = quiet_settings(tmp_path, speech_model="bundled", embed_model="bundled", clip_seconds=10.0)
    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=20, speech=(SPEECH_AT, "the quarterly budget is approved"),
                                    caption=(2.0, 5.0, "EXIT 12"))
    return ingest(engine, settings, path)[0], path


class RecordingModel:
    """Answers with a fixed span-relative citation through the real mapping of model.vlm."""

    name, is_test_model = "recording", False

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.spans: list[Span] = []

    def answer(self, question: str, spans: list[Span], context: str = "") -> Answer:
        self.spans, self.context = spans, context
        return answer_from_text(self.raw, spans, self.name)


def test_citations_are_mapped_from_span_time_to_video_time(talk, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, _ = talk
    settings = quiet_settings(tmp_path, embed_model="bundled")
    model = RecordingModel("The budget was approved [span 1, 2 to 4 seconds].")
    backends = Backends(model, None, None, get_embedder(settings))
    with unit_of_work(engine) as session:
        result = ask(session, engine, settings, video_id, "when is the budget approved?", backends)
    span = model.spans[0]
    assert span.fps == 2.0 and span.start == pytest.approx(SPEECH_AT - 3.0, abs=1.0)
    cited = [m for m in result.moments if m["source"] == "cited"]
    assert cited == [{"start": pytest.approx(span.start + 2.0), "end": pytest.approx(span.start + 4.0),
                      "kind": "cited", "text": "span 1", "source": "cited"}]
    assert "quarterly budget" in model.context.lower()
    with unit_of_work(engine) as session:
        stored = session.scalars(select(Question)).one()
        assert stored.answer == result.answer and stored.question == "when is the budget approved?"


def test_the_tiny_twin_answers_with_citations_inside_the_video(talk, engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               tiny_model_dir: Path) -> None:
    video_id, path = talk
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model=str(tiny_model_dir))
    with unit_of_work(engine) as session:
        result = ask(session, engine, settings, video_id, "what is approved?", get_backends(settings))
    assert result.test_model and result.answer is not None and "meaningless" in " ".join(result.notes)
    duration = probe(path).duration
    assert all(0.0 <= m["start"] <= m["end"] <= duration for m in result.moments)


def test_without_a_model_the_best_moments_come_back(talk, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, _ = talk
    settings = quiet_settings(tmp_path, embed_model="bundled")
    with unit_of_work(engine) as session:
        result = ask(session, engine, settings, video_id, "quarterly budget", get_backends(settings))
    assert result.answer is None and result.notes == [NO_MODEL]
    assert result.moments[0]["start"] == pytest.approx(SPEECH_AT, abs=1.0)


def test_spans_are_padded_clamped_merged_and_bounded(tmp_path: Path) -> None:
    hit = lambda a, b: Hit(1, "t", a, b, "speech", "x", "x", 1.0)  # noqa: E731
    assert spans_for([hit(1.0, 2.0), hit(4.0, 5.0), hit(50.0, 51.0)], duration=52.0) == [(0.0, 8.0), (47.0, 52.0)]
    assert len(spans_for([hit(t, t + 1) for t in range(0, 100, 10)], duration=200.0)) == 3
    settings = quiet_settings(tmp_path)
    video = speech_and_caption_video(tmp_path / "v.mp4", seconds=8, audio=False)
    plans = span_plans([(0.0, 8.0), (0.0, 4.0)], probe(video), settings)
    assert sum(p.tokens for p in plans) <= settings.max_clip_tokens
    assert all(p.frames % 2 == 0 and p.frames >= 4 and (4 / p.fps).is_integer() for p in plans)
