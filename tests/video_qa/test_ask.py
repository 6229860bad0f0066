"""Ask: retrieval -> moments by their own time -> spans -> exact frames -> the model; citations in
absolute time, inside the span they cite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from model.vlm import Answer, Span, answer_from_text
from tests.factories.media import speech_and_caption_video, text_video
from tests.factories.moments import Spec, write_moments
from tests.factories.pipeline import ingest, quiet_settings
from tests.factories.rows import make_video
from video_qa.analyzers import Backends, get_backends, get_embedder
from video_qa.ask import (EXTRACTIVE, NO_MODEL, NO_MODEL_NO_MATCH, NO_MODEL_ONLY_CHAPTERS, AskSpan, Prepared, Retrieved, answer, cite, retrieve,
                          span_plans, spans_for)
from video_qa.db import unit_of_work
from video_qa.media.probe import probe
from video_qa.search import Hit
from video_qa.timecode import format_time

SPEECH_AT = 14.0
INVOICE = (88.0, 95.0)
UNRELATED = [  # eight moments around the invoice, none about it
    Spec("welcome", "text", 0.0, 358.0, "QUARTERLY REVIEW 2026"),
    Spec("talk", "speech", 80.0, 100.0, "and then we moved on to the travel plans for the spring"),
    Spec("page", "text", 86.0, 97.0, "page 3 of 12"),
    Spec("walk", "event", 84.0, 99.0, "a person walks past the window"),
    Spec("logo", "text", 60.0, 120.0, "ACME CORPORATION"),
    Spec("clock", "text", 89.0, 90.0, "10:42"),
    Spec("coffee", "speech", 94.0, 98.0, "shall we get a coffee before the next meeting"),
    Spec("chapter", "chapter", 60.0, 120.0, "Travel plans"),
]


class RecordingModel:
    """Answers with a fixed span-relative citation through the real mapping of model.vlm."""

    name, is_test_model = "recording", False

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.spans: list[Span] = []
        self.context = ""

    def answer(self, question: str, spans: list[Span], context: str = "") -> Answer:
        self.spans, self.context = spans, context
        return answer_from_text(self.raw, spans, self.name)


@pytest.fixture()
def talk(tmp_path: Path, engine: Engine) -> tuple[int, Path]:
    settings = quiet_settings(tmp_path, speech_model="bundled", embed_model="bundled", clip_seconds=10.0)
    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=20, speech=(SPEECH_AT, "the quarterly budget is approved"),
                                    caption=(2.0, 5.0, "EXIT 12"))
    return ingest(engine, settings, path)[0], path


@pytest.fixture(scope="module")
def invoice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 s, 25 fps, the invoice number on screen from 88 to 95 s."""
    return speech_and_caption_video(tmp_path_factory.mktemp("invoice") / "invoice.mp4", seconds=100, audio=False,
                                    caption=(*INVOICE, "INVOICE 4711"))


@pytest.fixture()
def invoice_video(engine: Engine, invoice_file: Path, tmp_path: Path) -> int:
    """A ready video whose precise invoice moment sits among eight unrelated, overlapping ones."""
    embedder = get_embedder(quiet_settings(tmp_path, embed_model="bundled"))
    info = probe(invoice_file)
    with unit_of_work(engine) as session:
        video = make_video(session, path=str(invoice_file), title="invoice.mp4", duration=info.duration,
                           probe=info.to_dict(), status="ready")
        write_moments(session, video, [Spec("invoice", "text", *INVOICE, "INVOICE 4711"), *UNRELATED], embedder)
        return video.id


def _ask(engine: Engine, settings, video_id: int, question: str, backends: Backends):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as session:
        prepared = retrieve(session, engine, video_id, question, backends.embedder)
    return prepared, answer(prepared, settings, backends.vlm)


def test_a_precise_moment_is_retrieved_by_its_own_time_among_unrelated_ones(engine: Engine, invoice_video: int,
                                                                            tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled")
    prepared, result = _ask(engine, settings, invoice_video, "When is the invoice shown?",
                            Backends(None, None, None, get_embedder(settings)))
    first = result.moments[0]
    assert (first["start"], first["end"]) == (pytest.approx(88.0, abs=0.1), pytest.approx(95.0, abs=0.1))
    assert first["text"] == "INVOICE 4711" and first["source"] == "cited"  # quoted by the extractive answer
    assert [m["moment_id"] for m in result.moments].count(first["moment_id"]) == 1
    # every listed moment is one stored moment by its own time, never a span stretched over neighbours
    stored = {(s.start, s.end) for s in [Spec("invoice", "text", *INVOICE, ""), *UNRELATED]}
    assert all((m["start"], m["end"]) in stored for m in result.moments)
    # the span the model would see is made by the invoice moment, padded, not by the 0-358 s text
    assert prepared.spans == [AskSpan(85.0, 98.0, prepared.retrieved[0])]


@pytest.mark.parametrize(("cited", "expected"), [
    ("[span 1, 2 to 4 seconds]", (87.0, 89.0)),  # span-relative -> its own absolute time
    ("[span 1, 0 to 0 seconds]", INVOICE),  # 0-0: the span's best moment by its own time
    ("[span 1, 50 to 55 seconds]", INVOICE),  # outside the 13-s span: the same
    ("[span 1, 11 to 40 seconds]", (96.0, 98.0)),  # runs past the span: clamped to the span, not the video
])
def test_a_citation_lands_inside_the_span_it_cites(engine: Engine, invoice_video: int, tmp_path: Path,
                                                   cited: str, expected: tuple[float, float]) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled")
    model = RecordingModel(f"The invoice is shown here {cited}.")
    _, result = _ask(engine, settings, invoice_video, "When is the invoice shown?",
                     Backends(model, None, None, get_embedder(settings)))
    assert model.spans[0].start == pytest.approx(85.0, abs=0.05) and model.spans[0].fps == 2.0
    citations = [m for m in result.moments if m["source"] == "cited"]
    assert [(c["start"], c["end"]) for c in citations] == [(pytest.approx(expected[0], abs=0.05),
                                                            pytest.approx(expected[1], abs=0.05))]
    assert "INVOICE 4711" in model.context
    fell_back = expected == INVOICE
    assert any("best matching moment" in n for n in result.notes) == fell_back
    assert not any("dropped" in n for n in result.notes)


def test_cite_clamps_to_the_span_and_falls_back_to_its_best_moment() -> None:
    best = Hit(1, "t", 8.0, 9.0, "text", "x", [(0, 1)], 1.0)
    span = AskSpan(0.0, 12.0, best)
    assert cite(span, 0.0, 0.0, 0.0) == (8.0, 9.0, True)  # the upload whose citations all said 0:00
    assert cite(span, 0.0, 2.0, 3.5) == (2.0, 3.5, False)
    assert cite(span, 0.0, 10.0, 30.0) == (10.0, 12.0, False)
    assert cite(span, 0.0, 13.0, 14.0) == (8.0, 9.0, True)


def test_citations_are_mapped_from_span_time_to_video_time(talk, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, _ = talk
    settings = quiet_settings(tmp_path, embed_model="bundled")
    model = RecordingModel("The budget was approved [span 1, 2 to 4 seconds].")
    _, result = _ask(engine, settings, video_id, "when is the budget approved?",
                     Backends(model, None, None, get_embedder(settings)))
    span = model.spans[0]
    assert span.fps == 2.0 and span.start == pytest.approx(SPEECH_AT - 3.0, abs=1.0)
    cited = [m for m in result.moments if m["source"] == "cited"]
    assert cited == [{"start": pytest.approx(span.start + 2.0), "end": pytest.approx(span.start + 4.0),
                      "kind": "cited", "text": "span 1", "source": "cited"}]
    assert "quarterly budget" in model.context.lower()


def test_the_tiny_twin_answers_with_citations_inside_the_video(talk, engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               tiny_model_dir: Path) -> None:
    video_id, path = talk
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model=str(tiny_model_dir))
    _, result = _ask(engine, settings, video_id, "what is approved?", get_backends(settings))
    assert result.test_model and result.answer is not None and "meaningless" in " ".join(result.notes)
    duration = probe(path).duration
    assert all(0.0 <= m["start"] <= m["end"] <= duration for m in result.moments)


def test_without_a_model_the_answer_is_the_sentence_that_answers_with_its_time(talk, engine: Engine,  # type: ignore[no-untyped-def]
                                                                                tmp_path: Path) -> None:
    video_id, _ = talk
    settings = quiet_settings(tmp_path, embed_model="bundled")
    _, result = _ask(engine, settings, video_id, "was the quarterly budget approved?", get_backends(settings))
    assert result.answer is not None and result.answer.startswith(EXTRACTIVE) and result.notes == [NO_MODEL]
    (cited,) = [m for m in result.moments if m["source"] == "cited"]
    assert cited["kind"] == "speech" and cited["start"] == pytest.approx(SPEECH_AT, abs=1.0)
    assert "budget" in cited["text"].lower() and cited["moment_id"] not in [m["moment_id"] for m in result.moments
                                                                             if m["source"] == "retrieved"]  # once
    line = result.answer.splitlines()[1]  # the time first, then what was said, in the answer's text
    assert line.startswith(f"{format_time(cited['start'])} said: ") and cited["text"] in line


def test_an_extractive_answer_quotes_the_matching_sentence_caption_and_shot_label(tmp_path: Path) -> None:
    talk = ("Welcome to the harbour. The red crane lifts forty containers a day. "
            "Lunch is at noon.")
    retrieved = [
        Retrieved(1, 10.0, 25.0, "speech", talk, 0.9, 2, 0.5, 0.5),
        Retrieved(2, 31.0, 38.0, "text", "CRANE 7 LOADING BAY", 0.8, 1, 2.0, 1.0),
        Retrieved(3, 40.0, 52.0, "visual", "a crane lifting a container at a port", 0.7, 1),
        Retrieved(4, 0.0, 60.0, "chapter", "Harbour crane tour", 0.6, 1),
        Retrieved(5, 55.0, 58.0, "speech", "Thank you for coming.", 0.1, 0),
    ]
    prepared = Prepared(1, "/nowhere.mp4", "ready", None, 60.0, "what does the crane lift", retrieved, [], "")
    result = answer(prepared, quiet_settings(tmp_path), None)
    cited = [(m["kind"], m["start"], m["end"], m["text"], m["moment_id"]) for m in result.moments if m["source"] == "cited"]
    assert cited == [("speech", 10.0, 25.0, "The red crane lifts forty containers a day.", 1),
                     ("text", 31.0, 38.0, "CRANE 7 LOADING BAY", 2),
                     ("visual", 40.0, 52.0, "a crane lifting a container at a port", 3)]
    assert result.answer == "\n".join([
        EXTRACTIVE,
        "0:00:10.0 said: The red crane lifts forty containers a day.",
        "0:00:31.0 on screen: CRANE 7 LOADING BAY",
        "0:00:40.0 seen: a crane lifting a container at a port"])
    assert result.model is None and not result.test_model and result.notes == [NO_MODEL]
    # each moment once: the quoted ones as cited, the rest as retrieved
    assert [(m["moment_id"], m["source"]) for m in result.moments] == [
        (1, "cited"), (2, "cited"), (3, "cited"), (4, "retrieved"), (5, "retrieved")]
    # found by meaning only (no word in common): the best one is quoted, whole
    meant = [Retrieved(5, 55.0, 58.0, "speech", "Thank you for coming.", 0.1, 0)]
    prepared = Prepared(1, "/nowhere.mp4", "ready", None, 60.0, "goodbye", meant, [], "")
    assert answer(prepared, quiet_settings(tmp_path), None).answer == f"{EXTRACTIVE}\n0:00:55.0 said: Thank you for coming."
    # only a chapter came back: the answer does not say that no moment matches, then list one
    chapter = [Retrieved(4, 0.0, 60.0, "chapter", "(no speech or text)", 0.2, 0)]
    result = answer(Prepared(1, "/nowhere.mp4", "ready", None, 60.0, "what is the caption", chapter, [], ""),
                    quiet_settings(tmp_path), None)
    assert result.answer == NO_MODEL_ONLY_CHAPTERS and result.notes == [NO_MODEL_ONLY_CHAPTERS]
    assert [(m["moment_id"], m["source"]) for m in result.moments] == [(4, "retrieved")]


def test_spans_are_padded_clamped_merged_and_bounded(tmp_path: Path) -> None:
    moment = lambda a, b, matched=1: Retrieved(int(a), a, b, "speech", "x", 1.0, matched)  # noqa: E731
    first, second, third = moment(1.0, 2.0), moment(4.0, 5.0), moment(50.0, 51.0)
    assert spans_for([first, second, third], duration=52.0) == [(0.0, 8.0, first), (47.0, 52.0, third)]
    assert len(spans_for([moment(t, t + 1) for t in range(0, 100, 10)], duration=200.0)) == 3
    # a moment that matched no word of the question neither makes a span nor stretches one
    unrelated = moment(3.0, 30.0, matched=0)
    assert spans_for([first, unrelated], duration=52.0) == [(0.0, 5.0, first)]
    assert spans_for([unrelated], duration=52.0) == [(0.0, 33.0, unrelated)]
    settings = quiet_settings(tmp_path)
    video = speech_and_caption_video(tmp_path / "v.mp4", seconds=8, audio=False)
    plans = span_plans([(0.0, 8.0), (0.0, 4.0)], probe(video), settings)
    assert sum(p.tokens for p in plans) <= settings.max_clip_tokens
    assert all(p.frames % 2 == 0 and p.frames >= 4 and (4 / p.fps).is_integer() for p in plans)


def test_without_a_model_a_question_nothing_matches_says_so(talk, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video_id, _ = talk
    settings = quiet_settings(tmp_path, embed_model="bundled")
    _, result = _ask(engine, settings, video_id, "xylophone quantum", get_backends(settings))
    assert result.answer == NO_MODEL_NO_MATCH and result.moments == [] and result.notes == [NO_MODEL_NO_MATCH]


# --- a question that names on-screen text without its words (a new user's run)


@pytest.fixture()
def caption_video(tmp_path: Path, engine: Engine) -> int:
    """30 s, on-screen text only: "BRIDGE CLOSED FOR REPAIRS" from 5 to 20 s, analysed as the default does."""
    settings = quiet_settings(tmp_path, ocr=True, embed_model="bundled", clip_seconds=60.0)
    path = text_video(tmp_path / "caption.mp4", seconds=30,
                      items=((5.0, 20.0, "BRIDGE CLOSED FOR REPAIRS", "(w-tw)/2", "(h-th)/2", 36),))
    return ingest(engine, settings, path)[0]


@pytest.mark.parametrize("question", [
    "What is the caption about?",  # no word of it is on screen
    "What does the sign say about parking?",  # its other word is not on screen either
    "What does the sign say about the bridge?",  # its other word is
])
def test_a_question_naming_on_screen_text_quotes_the_caption(caption_video: int, engine: Engine, tmp_path: Path,
                                                             question: str) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled")
    prepared, result = _ask(engine, settings, caption_video, question, get_backends(settings))
    (cited,) = [m for m in result.moments if m["source"] == "cited"]
    assert (cited["kind"], cited["text"]) == ("text", "BRIDGE CLOSED FOR REPAIRS")
    assert 5.0 <= cited["start"] <= 7.0 and 19.0 <= cited["end"] <= 21.0  # its own time (samples every 2 s)
    assert result.answer == f"{EXTRACTIVE}\n{format_time(cited['start'])} on screen: BRIDGE CLOSED FOR REPAIRS"
    assert result.notes == [NO_MODEL]
    # the span a model would see is the caption's, padded, not the video's first minute
    assert prepared.spans == [AskSpan(cited["start"] - 3.0, cited["end"] + 3.0, prepared.retrieved[0])]

