"""The app's HTML by value: times on buttons, timeline geometry, escaping of every text that came
from a file, a recogniser or a model, the progress bar, and the model banner."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from video_qa.config import load_settings
from web import render
from web.ui import model_notice

HOSTILE = "<img src=x onerror=alert(1)>\"'&<script>alert(2)</script>"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_seek_button_carries_the_exact_time_and_shows_h_mm_ss() -> None:
    html = render.seek_button(7, 3725.46, "ask")
    (tag, attrs), = Tags(html).tags
    assert tag == "button" and attrs["data-seek"] == "1" and attrs["data-video"] == "7"
    assert attrs["data-t"] == "3725.460" and attrs["data-pane"] == "ask"
    assert attrs["title"] == "1:02:05.5" and "".join(Tags(html).text) == "1:02:05"


def test_timeline_places_each_moment_by_its_start_and_length() -> None:
    moments = [{"kind": "speech", "start": 30.0, "end": 45.0, "text": "hello"},
               {"kind": "text", "start": 90.0, "end": 120.0, "text": "EXIT 12"},
               {"kind": "event", "start": 0.0, "end": 0.1, "text": "a door opens"},
               {"kind": "chapter", "start": 0.0, "end": 120.0, "text": "all"}]
    tags = Tags(render.timeline(3, 120.0, moments, "library")).tags
    bars = {a["class"]: a for t, a in tags if t == "button"}
    assert set(bars) == {"vqa-bar vqa-speech", "vqa-bar vqa-text", "vqa-bar vqa-event"}  # chapters are listed, not drawn
    assert bars["vqa-bar vqa-speech"]["style"] == "left:25.000%;width:12.500%"
    assert bars["vqa-bar vqa-text"]["style"] == "left:75.000%;width:25.000%"
    assert bars["vqa-bar vqa-event"]["style"] == "left:0.000%;width:0.600%"  # a minimum width to be clickable
    assert bars["vqa-bar vqa-text"]["data-t"] == "90.000"
    assert render.timeline(3, 0.0, moments, "library") == ""


def _all_text_is_literal(html: str) -> None:
    parsed = Tags(html)
    assert not any(tag in ("script", "img") and "src" in a and a["src"] == "x" for tag, a in parsed.tags)
    assert not any(tag == "script" for tag, _ in parsed.tags)
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    assert HOSTILE in "".join(parsed.text) or any(HOSTILE in (v or "") for _, a in parsed.tags for v in a.values())


def test_every_outside_text_is_escaped() -> None:
    video = {"id": 1, "title": HOSTILE, "status": "failed", "duration": 10.0, "width": 640, "height": 360,
             "error": HOSTILE, "summary": HOSTILE}
    moments = [{"kind": k, "start": 1.0, "end": 2.0, "text": HOSTILE} for k in ("speech", "text", "event", "chapter")]
    hit = {"video_id": 1, "title": HOSTILE, "start": 1.0, "end": 2.0, "kind": "speech", "text": HOSTILE,
           "marked": f"[{HOSTILE}] said"}
    turn = {"question": HOSTILE, "answer": HOSTILE, "notes": [HOSTILE], "moments": moments}
    for html in (render.video_detail(video, moments, "library"), render.library_table([video]),
                 render.search_results([hit], "search", HOSTILE), render.search_results([], "search", HOSTILE),
                 render.conversation([turn], 1, "ask"), render.player(1, HOSTILE, "ask"),
                 render.progress("failed", "x", 0.5, HOSTILE, HOSTILE)):
        _all_text_is_literal(html)


def test_search_marks_become_mark_elements_and_nothing_else() -> None:
    hit = {"video_id": 2, "title": "t", "start": 4.0, "end": 5.0, "kind": "speech", "text": "",
           "marked": "the [quarterly] <b>[budget]</b>"}
    html = render.search_results([hit], "search", "quarterly budget")
    assert re.search(r'<div class="vqa-hit-text">the <mark>quarterly</mark> &lt;b&gt;<mark>budget</mark>&lt;/b&gt;</div>',
                     html)


def test_progress_shows_stage_and_percent_then_ready() -> None:
    running = Tags(render.progress("processing", "analyze", 0.4166))
    (progress,) = [a for t, a in running.tags if t == "progress"]
    assert progress["value"] == "41.7" and "analyze · 42 %" in "".join(running.text)
    assert "ready" in "".join(Tags(render.progress("ready", "finalize", 1.0)).text)


def test_banner_names_the_missing_or_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert "No vision-language model" in (model_notice(load_settings(vlm_model="")) or "")
    assert "tiny random-weight" in (model_notice(load_settings(vlm_model=str(tiny_model_dir))) or "")
    real = tmp_path / "qwen"
    real.mkdir()
    (real / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    assert model_notice(load_settings(vlm_model=str(real))) is None
