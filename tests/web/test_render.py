"""The app's HTML by value: times on buttons (one format, start and end, the uncertainty), timeline
geometry and clusters, every seek path's attributes, failed videos without a player, the library
page, the moments list's paging, escaping of every text that came from a file, a recogniser or a
model, the progress bar, and the model banner."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from video_qa.config import load_settings
from video_qa.timecode import clock_time
from web import render
from web.urls import API_PREFIX, MEDIA_URL
from web.ui import header_html, model_parts

HOSTILE = "<img src=x onerror=alert(1)>\"'&<script>alert(2)</script>"
NBSP = "\u00a0"  # around "±N s" (video_qa.timecode)


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
    assert bars["vqa-bar vqa-speech"]["style"] == "left:25.000%;width:12.500%;top:2px"
    assert bars["vqa-bar vqa-text"]["style"] == "left:75.000%;width:25.000%;top:2px"
    assert bars["vqa-bar vqa-event"]["style"] == "left:0.000%;width:0.600%;top:2px"  # a minimum width to be clickable
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
    hit = {"video_id": 1, "title": HOSTILE, "start": 1.0, "end": 2.0, "kind": "speech", "text": f"{HOSTILE} said",
           "highlights": [[0, len(HOSTILE)], [len(HOSTILE) + 1, len(HOSTILE) + 5]]}
    turn = {"question": HOSTILE, "answer": HOSTILE, "notes": [HOSTILE], "moments": moments}
    for html in (render.video_detail(video, moments, "library"), render.library_table([video]),
                 render.search_results([hit], "search", HOSTILE), render.search_results([], "search", HOSTILE),
                 render.conversation([turn], 1, "ask"), render.player(1, HOSTILE, "ask"),
                 render.progress("failed", "x", 0.5, HOSTILE, HOSTILE)):
        _all_text_is_literal(html)


def test_search_highlights_become_mark_elements_and_nothing_else() -> None:
    text = "the quarterly <b>budget</b> & [appendix]"
    hit = {"video_id": 2, "title": "t", "start": 4.0, "end": 5.0, "kind": "speech", "text": text,
           "highlights": [[4, 13], [17, 23]]}
    html = render.search_results([hit], "search", "quarterly budget")
    assert re.search(r'<div class="vqa-hit-text vqa-seekable"[^>]*>the <mark>quarterly</mark> &lt;b&gt;<mark>budget</mark>'
                     r'&lt;/b&gt; &amp; \[appendix\]</div>', html)
    assert html.count("<mark>") == 2  # the brackets in the text are text, not a highlight


def test_highlighted_escapes_every_piece_and_skips_offsets_it_cannot_use() -> None:
    assert render.highlighted("a<b", [[0, 3]]) == "<mark>a&lt;b</mark>"
    assert render.highlighted("Café & 東京", [(0, 4), (7, 9)]) == "<mark>Café</mark> &amp; <mark>東京</mark>"
    # overlapping, empty, reversed or past the end: skipped, the text stays whole
    assert render.highlighted("run & run", [(0, 3), (1, 2), (4, 4), (6, 5), (6, 99)]) == "<mark>run</mark> &amp; run"
    assert render.highlighted("[x]", []) == "[x]"


def test_progress_shows_stage_and_percent_then_ready() -> None:
    running = Tags(render.progress("processing", "analyze", 0.4166))
    (progress,) = [a for t, a in running.tags if t == "progress"]
    assert progress["value"] == "41.7" and "analyze · 42 %" in "".join(running.text)
    assert "ready" in "".join(Tags(render.progress("ready", "finalize", 1.0)).text)


def test_banner_names_the_missing_or_tiny_model_and_the_visual_twin(tiny_model_dir: Path, tmp_path: Path) -> None:
    heading, parts = model_parts(load_settings(vlm_model="", visual_model="off"))
    assert heading.startswith("No vision-language model · visual model off")
    assert [what for what, _ in parts] == ["Answers", "Visual search"]
    assert "VIDEOQA_VLM_MODEL" in parts[0][1] and "VIDEOQA_VISUAL_MODEL" in parts[1][1]  # which setting turns it on
    # what still works without an image-text model: labels, and Find similar by the classifier's features
    assert "searching pictures by words is off" in parts[1][1] and "Find similar compares shots" in parts[1][1]
    unseeing = dict(model_parts(load_settings(vlm_model="", visual_model="off", labels="off"))[1])
    assert "nothing is seen" in unseeing["Visual search"] and "Find similar" not in unseeing["Visual search"]
    heading, parts = model_parts(load_settings(vlm_model=str(tiny_model_dir), visual_model="tiny"))
    assert heading.startswith("Test model in use (tiny twin) · visual model: tiny twin")
    assert "tiny random-weight" in parts[0][1] and "tiny twin" in parts[1][1]
    real = tmp_path / "qwen"
    real.mkdir()
    (real / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    assert model_parts(load_settings(vlm_model=str(real), visual_model="off"))[0] == "visual model off — what this means"
    html = header_html(load_settings(vlm_model="", visual_model="tiny"))
    assert "VideoQA" in html and "visual model: tiny twin" in html


def test_one_time_format_start_and_end_and_the_uncertainty() -> None:
    # tenths, as the answer text writes them (issue 28: "0:00:29–0:00:33" for 29.68–33.80 s was wrong)
    assert render.span({"start": 88.0, "end": 95.0, "start_uncertainty": 0.3, "end_uncertainty": 0.3}) == \
        "0:01:28.0–0:01:35.0"
    assert render.span({"start": 3.46, "end": 5.0, "start_uncertainty": 0.04, "end_uncertainty": 0.1}) == \
        "0:00:03.5–0:00:05.0"
    # 1 s or more: "±N s", one precision (whole seconds) for both ends, one ± after the range
    assert render.span({"start": 242.2, "end": 250.9, "start_uncertainty": 1.0, "end_uncertainty": 2.6}) == \
        f"0:04:02–0:04:10{NBSP}±3{NBSP}s"
    assert render.span({"start": 59.96, "end": 61.0, "start_uncertainty": 0.0, "end_uncertainty": 0.0}) == \
        "0:01:00.0–0:01:01.0"  # exact times
    # an uncertainty not given: tenths too (a search hit, a 0.18-s speech moment)
    assert render.span({"start": 29.68, "end": 33.80}) == "0:00:29.7–0:00:33.8"
    assert render.span({"start": 30.02, "end": 30.20}) == "0:00:30.0–0:00:30.2"
    assert render.span({"start": 59.96, "end": 61.0, "start_uncertainty": 0.1}) == "0:01:00.0–0:01:01.0"
    assert [clock_time(3599.96), clock_time(3599.94), clock_time(1.0, 0.25), clock_time(1.0, 0.249)] == \
        ["1:00:00", "0:59:59", "0:00:01.0", "0:00:01.0"]
    assert [clock_time(5, 1.49), clock_time(5, 1.5), clock_time(None)] == \
        [f"0:00:05{NBSP}±1{NBSP}s", f"0:00:05{NBSP}±2{NBSP}s", "-"]
    (_, attrs), = Tags(render.moment_button(4, {"start": 242.2, "end": 250.9, "start_uncertainty": 1.0,
                                                "end_uncertainty": 0.5}, "library")).tags
    assert attrs["data-t"] == "242.200" and attrs["title"] == "0:04:02.2–0:04:10.9"
    # durations: the same h:mm:ss (no "0:06:00.0")
    table = render.library_table([{"id": 1, "title": "t", "status": "ready", "duration": 360.0, "summary": ""}])
    assert "<span class=\"vqa-col-duration\">0:06:00</span>" in table
    assert "0:06:00.0" not in render.video_detail({"id": 1, "title": "t", "status": "ready", "duration": 360.0}, [], "l")


def test_a_result_seeks_from_its_thumbnail_title_time_and_text_and_loads_its_thumbnail_lazily() -> None:
    hit = {"video_id": 9, "title": "Dock", "start": 12.5, "end": 15.0, "kind": "text", "text": "EXIT 12",
           "highlights": [[0, 4]],
           "start_uncertainty": 1.5, "end_uncertainty": 0.5}
    tags = Tags(render.search_results([hit], "search", "exit")).tags
    seekers = [(t, a) for t, a in tags if "data-seek" in a]
    assert {a["class"].split()[0] for _, a in seekers} == {"vqa-thumb", "vqa-hit-title", "vqa-time", "vqa-hit-text"}
    assert all(a["data-t"] == "12.500" and a["data-video"] == "9" and a["data-pane"] == "search" for _, a in seekers)
    (img,) = [a for t, a in tags if t == "img"]
    assert "src" not in img and img["data-src"] == "/api/v1/videos/9/thumbnail?t=12.500" and img["loading"] == "lazy"
    assert f"0:00:12–0:00:15{NBSP}±2{NBSP}s" in render.search_results([hit], "search", "exit")


def test_find_similar_results_show_their_scores_and_a_search_does_not() -> None:
    hits = [{"video_id": 2, "title": "B", "start": 4.0, "end": 8.0, "kind": "visual", "text": "", "score": 0.581234},
            {"video_id": 3, "title": "C", "start": 0.0, "end": 4.0, "kind": "visual", "text": "", "score": 1}]
    like = render.search_results(hits, "search", "like moment #7", "Moments that look like A", scores=True)
    shown = [(a["title"], t) for t, a in Tags(like).tags if t == "span" and a.get("class") == "vqa-score"]
    assert [title for title, _ in shown] == ["cosine similarity to the query, -1 to 1: 0.581234",
                                             "cosine similarity to the query, -1 to 1: 1"]
    assert "similarity <b>0.58</b>" in like and "similarity <b>1.00</b>" in like
    assert "vqa-score" not in render.search_results(hits, "search", "bars")  # a search's fused score: not shown
    assert "vqa-score" not in render.search_results([{**hits[0], "score": None}], "search", "q", scores=True)


def test_timeline_merges_close_moments_into_one_cluster_that_seeks_to_the_first() -> None:
    # 229 one-second captions every 1.5 s over 6 minutes: bars 0.4 % apart merge; two far apart stay single
    dense = [{"kind": "text", "start": 10 + 1.5 * i, "end": 11 + 1.5 * i, "text": f"line {i}"} for i in range(100)]
    lone = [{"kind": "text", "start": 300.0, "end": 302.0, "text": "THE END"}]
    groups = render.clusters(dense + lone, 0.0, 360.0)
    assert [len(g) for g in groups] == [100, 1]
    tags = Tags(render.timeline(5, 360.0, dense + lone, "library")).tags
    bars = [a for t, a in tags if t == "button"]
    assert [b["data-t"] for b in bars] == ["10.000", "300.000"]
    assert bars[0]["class"] == "vqa-bar vqa-text vqa-cluster"
    assert bars[0]["title"].startswith("100 moments 0:00:10–0:02:39\n0:00:10  line 0\n0:00:11  line 1")
    assert bars[0]["title"].endswith("… and 88 more")
    assert bars[1]["title"] == "0:05:00.0–0:05:02.0  THE END"  # no uncertainty given: tenths, as every label
    # zoomed in (what seek.js draws): the same rule splits them again
    assert len(render.clusters(dense, 10.0, 40.0)) == 21  # starts 10.0, 11.5, … 40.0


def test_the_last_bar_stays_inside_the_lane_and_an_empty_lane_says_why() -> None:
    assert render.bar_geometry(119.99, 120.0, 0.0, 120.0) == (99.4, 0.6)
    assert render.bar_geometry(-5.0, 200.0, 0.0, 120.0) == (0.0, 100.0)
    moments = [{"kind": "text", "start": 119.95, "end": 120.0, "text": "bye"}]
    html = render.timeline(3, 120.0, moments, "library", {"event": "no vision model configured", "speech": "no speech found"})
    (bar,) = [a for t, a in Tags(html).tags if t == "button"]
    assert bar["style"] == "left:99.400%;width:0.600%;top:2px"
    assert "no vision model configured" in html and "no speech found" in html
    assert 'data-kind="text"' in html and "vqa-zoom-level" in html


def test_a_failed_video_has_no_player_and_its_row_is_marked_with_the_reason() -> None:
    html = render.player(3, "sliver", "library", status="failed")
    assert "<video" not in html and "This video cannot be played." in html  # the reason: once, in the detail
    detail = render.video_detail({"id": 3, "title": "sliver", "status": "failed", "error": "sliver.mkv: absurd dimensions",
                                  "duration": None}, [], "library")
    assert detail.count("absurd dimensions") == 1 and "vqa-timeline" not in detail
    assert "<video" in render.player(3, "talk", "library", status="ready")
    cut = render.player(3, "half", "library", status="ready", notice="truncated: 14 s of 30 s readable")
    assert "<video" in cut and "truncated: 14 s of 30 s readable" in cut
    table = render.library_table([{"id": 3, "title": "sliver", "status": "failed", "error": "absurd dimensions",
                                   "duration": None}, {"id": 2, "title": "talk", "status": "ready", "duration": 20.0}],
                                 total=120, offset=50)
    rows = {a["data-video"]: a for t, a in Tags(table).tags if t == "li" and "data-video" in a}
    assert rows["3"]["class"] == "vqa-row vqa-row-failed" and rows["2"]["class"] == "vqa-row"
    assert all(r["data-open"] == "1" for r in rows.values())
    assert "51–52 of 120 videos" in table and "absurd dimensions" in table
    thumbs = [a for t, a in Tags(table).tags if t == "img"]  # a ready video's card has its thumbnail (lazy), a failed none
    assert [a["data-src"] for a in thumbs] == ["/api/v1/videos/2/thumbnail?t=2.000"]
    cut = render.library_table([{"id": 5, "title": "half", "status": "ready", "duration": 14.0,
                                 "notice": "truncated: 14 s of 30 s readable"}])
    assert "vqa-row-truncated" in cut and "truncated: 14 s of 30 s readable" in cut
    assert cut.count(">truncated") == 1  # said once as text: not "truncated truncated: …"
    assert "No video matches" in render.library_table([], 0, 0, filtered=True)
    # a file-like title may wrap after "_", "-" or "." only; its tooltip is the whole name
    assert render.title_parts("broken_download-2.mp4") == ["broken_", "download-", "2.", "mp4"]
    assert render.title_parts("dock") == ["dock"] and render.title_parts("") == [""]
    named = render.library_table([{"id": 6, "title": "broken_download.mp4", "status": "failed", "error": "x"}])
    assert '<div class="vqa-col-title" title="broken_download.mp4">broken_<wbr>download.<wbr>mp4</div>' in named


def test_the_moments_list_shows_one_page_and_offers_each_kind() -> None:
    moments = [{"kind": "speech" if i % 3 else "text", "start": float(i), "end": i + 0.5, "text": f"m{i}"}
               for i in range(120)]
    html = render.moment_list(1, moments, "library")
    items = [a for t, a in Tags(html).tags if t == "li"]
    assert len(items) == 120 and sum("hidden" not in a for a in items) == render.MOMENTS_PAGE
    assert "page 1 of 3" in html and '<option value="text">text (40)</option>' in html
    texts = [a for t, a in Tags(html).tags if t == "span" and "data-seek" in a]
    assert texts[5]["data-t"] == "5.000"  # the text seeks too


def test_progress_says_what_is_happening() -> None:
    text = "".join(Tags(render.progress("processing", "analyzing", 0.33)).text)
    assert "analyzing · 33 %" in text and "hearing, reading and watching its clips" in text
    assert "already in the library as #4" in render.progress("ready", "", 1.0, note="a.mp4 is already in the library as #4")


def test_a_caption_over_a_long_slide_title_keeps_a_bar_of_its_own_in_a_row_below() -> None:
    title = {"kind": "text", "start": 26.0, "end": 50.5, "text": "LOADING DOCK"}
    caption = {"kind": "text", "start": 34.0, "end": 40.5, "text": "Gate 7 closes at noon"}
    after = {"kind": "text", "start": 52.0, "end": 60.0, "text": "NEXT"}
    assert [len(g) for g in render.clusters([title, caption], 20.0, 50.0)] == [1, 1]
    html = render.timeline(5, 75.0, [title, caption, after], "library")
    bars = [a for t, a in Tags(html).tags if t == "button"]
    assert [(b["data-t"], b["style"].split(";")[-1]) for b in bars] == \
        [("26.000", "top:2px"), ("34.000", f"top:{render.ROW_PX + 2}px"), ("52.000", "top:2px")]
    assert f'style="height:{2 * render.ROW_PX + 2}px"' in html  # the lane grows to two rows


def test_overlapping_bars_are_stacked_so_none_covers_another_and_past_max_rows_they_cluster() -> None:
    # six moments all overlapping 10-40 s, starts 3 s apart (no cluster by start at 0.5 %)
    moments = [{"kind": "visual", "start": 10.0 + 3 * i, "end": 40.0, "text": f"shot {i}"} for i in range(6)]
    bars = render.stack(render.clusters(moments, 0.0, 120.0), 0.0, 120.0)
    assert [b.row for b in bars] == list(range(render.MAX_ROWS))
    assert [len(b.group) for b in bars] == [3, 1, 1, 1]  # the 5th and 6th joined the row that ends first (a tie: the top)
    for a in bars:
        for b in bars:
            if a is not b and a.row == b.row:
                assert a.left + a.width <= b.left or b.left + b.width <= a.left
    # a narrow bar (MIN_BAR wide) next to one that starts inside it goes to the next row
    close = [{"kind": "text", "start": 10.0, "end": 10.1, "text": "a"}, {"kind": "text", "start": 10.5, "end": 11, "text": "b"}]
    assert [b.row for b in render.stack(render.clusters(close, 0.0, 120.0, merge=0.0), 0.0, 120.0)] == [0, 1]


def test_ticks_fall_on_round_times() -> None:
    assert [label for _, label in render.ticks(0.0, 120.0)] == [
        "0:00:00", "0:00:15", "0:00:30", "0:00:45", "0:01:00", "0:01:15", "0:01:30", "0:01:45", "0:02:00"]
    assert [label for _, label in render.ticks(84.0, 114.0)] == [
        "0:01:25", "0:01:30", "0:01:35", "0:01:40", "0:01:45", "0:01:50"]  # a 30-s window: every 5 s
    assert [label for _, label in render.ticks(0.0, 3 * 3600.0)][:3] == ["0:00:00", "0:30:00", "1:00:00"]
    (left, label), *_ = render.ticks(84.0, 114.0)
    assert abs(left - 100 / 30) < 1e-9


def test_a_visual_moment_shows_its_labels_with_scores_and_offers_find_similar() -> None:
    shot = {"id": 77, "kind": "visual", "start": 4.0, "end": 8.0, "text": "Samoyed; 2 faces",
            "start_uncertainty": 0.2, "end_uncertainty": 0.2,
            "meta": {"labels": [{"vocab": "faces", "label": "2 faces", "score": 0.61},
                                {"vocab": "imagenet", "label": "Samoyed", "score": 0.873}]}}
    html = render.moment_list(3, [shot], "library")
    labels = [t.strip() for t in Tags(html).text if t.strip()]
    assert labels[-5:] == ["Samoyed", "0.87", "2 faces", "0.61", "Find similar"]  # best first, each with its score
    (button,) = [a for t, a in Tags(html).tags if t == "button" and "data-similar" in a]
    assert button["data-similar"] == "77" and button["data-url"] == "/api/v1/moments/77/similar"
    timeline = render.timeline(3, 20.0, [shot], "library")
    (bar,) = [a for t, a in Tags(timeline).tags if t == "button"]
    assert bar["class"] == "vqa-bar vqa-visual" and bar["data-t"] == "4.000"
    hit = {"video_id": 3, "title": "dogs", "start": 4.0, "end": 8.0, "kind": "visual", "text": "Samoyed",
           "highlights": [], "moment_ids": [77], "kinds": ["visual"]}
    results = render.search_results([hit], "search", "a dog")
    assert [a["data-similar"] for t, a in Tags(results).tags if "data-similar" in a] == ["77"]
    speech = {**hit, "kind": "speech", "kinds": ["speech"]}
    assert "data-similar" not in render.search_results([speech], "search", "a dog")


def test_a_hostile_title_is_escaped_by_the_templates() -> None:
    title = "<script>alert(1)</script>"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    video = {"id": 4, "title": title, "status": "ready", "duration": 60.0, "summary": title}
    hit = {"video_id": 4, "title": title, "start": 1.0, "end": 2.0, "kind": "speech", "text": title, "highlights": []}
    pages = (render.video_detail(video, [], "library"), render.library_table([video]), render.player(4, title, "ask"),
             render.search_results([hit], "search", title), render.progress("ready", "", 1.0, title=title),
             render.conversation([{"question": title, "answer": title}], 4, "ask"), render.header(title, [(title, title)]),
             render.video_side(video, [{"id": 1, "kind": "visual", "start": 0.0, "end": 1.0, "text": title,
                                        "meta": {"labels": [{"label": title, "score": 0.5}]}}], "library"))
    for html in pages:
        assert "<script" not in html and escaped in html
        assert not any(tag == "script" for tag, _ in Tags(html).tags)
    (_, seekers), = [(t, a) for t, a in Tags(pages[3]).tags if t == "img"]
    assert seekers["data-title"] == title  # an attribute's value, quotes escaped: still the title as text


def test_the_player_names_the_media_url_and_seek_js_spells_no_api_path() -> None:
    (video,) = [a for t, a in Tags(render.player(12, "talk", "search")).tags if t == "video"]
    assert video["data-media"] == MEDIA_URL and MEDIA_URL.startswith(API_PREFIX + "/")
    assert video["src"] == MEDIA_URL.replace("{id}", "12") == "/api/v1/videos/12/media"
    (empty,) = [a for t, a in Tags(render.player(None, None, "search")).tags if t == "video"]
    assert empty["data-media"] == MEDIA_URL and "src" not in empty  # the first seek loads the video from there
    assert "hidden" in empty  # no empty black player before a video is chosen; the hint says what to do
    assert "Click a result" in render.player(None, None, "search", hint="Click a result to play it here.")
    script = (Path(render.__file__).parent / "static" / "seek.js").read_text()
    assert "/api" not in script and "dataset.media" in script
    assert render.thumb_url(3, 1.25).startswith(API_PREFIX + "/videos/3/")
    detail = render.video_detail({"id": 3, "title": "t", "status": "ready", "duration": 5.0}, [], "library")
    assert f'href="{API_PREFIX}/videos/3/export/moments.json"' in detail


def test_a_library_card_shortens_a_long_summary_at_a_word_with_an_ellipsis() -> None:
    summary = "The delivery van arrives at noon and the quarterly budget is reviewed. " * 8
    card = render.library_table([{"id": 9, "title": "long", "status": "ready", "duration": 60.0, "summary": summary}])
    shown = re.search(r"The delivery van[^<]*", card).group(0).strip()
    assert shown.endswith("…") and len(shown) <= 300
    assert shown.removesuffix("…").rstrip().split(" ")[-1] in summary.split(" ")  # a whole word before it
