"""The Gradio app in a real browser: Debian's Chromium driven by Playwright against a real
`videoqa serve` (embedded SQLite, the tiny random-weight vision model, its in-process worker).

Upload → live progress → ready → ask → click a cited moment (its time and its text): the <video>
lands within 0.5 s of the moment and plays. The same from a search result's time, thumbnail and
text, a library row, the timeline (bars, a cluster, after zooming), chapters and the moments list
(paged, filtered by kind). A failed video: its row marked with the reason, no player, a Retry
whose status comes back by itself. At 390 px: no sideways scroll, the banner folds, the player
stays in view. Hostile titles and moment texts render as literal text. Screenshots of each tab
go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories.browser import (require_browser, bulk_library, choose, click_and_assert_seek,
                                     get_json, open_tab, park, screenshot, upload)
from tests.factories.media import silent_video, sliver_video, speech_and_caption_video
from tests.factories.processes import free_port, kill_group, start_cli, videoqa_env, wait_until
from tests.factories.rows import make_moment
from video_qa.db import engine_for, unit_of_work
from video_qa.models import Video

sync_api = require_browser()
pytestmark = pytest.mark.browser

SPEECH = (3.0, "the quarterly budget is approved")
CAPTION = (10.0, 16.0, "EXIT 12")
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
CLOCK = r"\d+:\d\d:\d\d(\.\d)?(\u00a0±\d+\u00a0s)?"  # no-break spaces around "±N s"
SPAN = CLOCK + "–" + CLOCK  # every moment shows its start and end
HOSTILE_TEXT = "<script>window.__pwned = 1</script><img src=y onerror=\"window.__pwned = 2\"> ${1+1} {{value}} pwned"
BRACKETED_TEXT = "see [appendix] & <b>[sic]</b>: Pwned"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("ui")
    port = free_port()
    env = videoqa_env(data_dir=root / "data", web_port=port, vlm_model=tiny_model_dir, clip_seconds=10)
    server = start_cli(env, "serve", log=root / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: (get_json(f"{base}/healthz") or {}).get("workers") == 1, 90, 0.5, "the server")
        yield {"base": base, "root": root, "db": f"sqlite:///{root / 'data' / 'videoqa.db'}"}
    finally:
        kill_group(server, 15)


@pytest.fixture(scope="module")
def talk(app: dict[str, Any]) -> int:
    """A 20 s talk (speech at 3 s, caption 10–16 s) uploaded through the API and analysed."""
    video = speech_and_caption_video(app["root"] / "talk.mp4", seconds=20, speech=SPEECH, caption=CAPTION)
    video_id = upload(app["base"], video)["id"]
    wait_until(lambda: (get_json(f"{app['base']}/api/v1/videos/{video_id}") or {}).get("status") == "ready",
               240, 0.5, "the talk to be ready")
    return video_id


@pytest.fixture()
def page(browser: Any, app: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []  # every alert/confirm the page tries to open
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(app["base"] + "/")
    page.wait_for_selector("#vqa-upload")
    yield page
    context.close()


def test_upload_progress_ready_ask_and_an_answer_moment_seeks(page: Any, app: dict[str, Any]) -> None:
    banner = page.locator("#vqa-models")
    assert "Test model in use" in banner.inner_text() and banner.is_visible()
    banner.locator("summary").click()
    assert "tiny random-weight" in banner.inner_text()
    video = speech_and_caption_video(app["root"] / "harbour talk.mp4", seconds=16, speech=(6.0, "the harbour crane lifts containers"),
                                     caption=(11.0, 15.0, "DOCK 7"))
    page.locator("#vqa-upload input[type=file]").set_input_files(str(video))
    # live progress from the job rows: a stage and a percent before it is ready
    page.wait_for_function("() => /\\d+ %/.test(document.querySelector('#vqa-ask-progress').innerText)", timeout=60_000)
    page.wait_for_selector("#vqa-ask-progress [data-status=ready]", timeout=240_000)
    assert page.locator('video.vqa-player[data-pane="ask"]').get_attribute("src").endswith("/media")

    page.locator("#vqa-question textarea").fill("What does the crane lift?")
    page.locator("#vqa-ask").click()
    answer = page.locator("#vqa-chat .vqa-a").last
    answer.locator(".vqa-time").first.wait_for(timeout=120_000)
    assert "What does the crane lift?" in page.locator("#vqa-chat .vqa-q").last.inner_text()
    notes = answer.locator(".vqa-notes").inner_text()
    assert "test model" in notes  # the UI says the text is meaningless
    times = answer.locator(".vqa-time")
    labels = [times.nth(i).inner_text() for i in range(times.count())]
    assert all(re.fullmatch(SPAN, label) for label in labels), labels
    # the answer's moments (a real model's citations first; the tiny model cites nothing useful), then the
    # retrieved ones: the speech moment is among them, at its time
    speech = answer.locator("li", has=page.locator(".vqa-kind", has_text=re.compile("^speech$")))
    assert "crane" in speech.first.inner_text().lower(), answer.inner_text()
    speech_text = speech.first.locator(".vqa-moment-text")
    speech = speech.first.locator(".vqa-time")
    assert abs(float(speech.get_attribute("data-t")) - 6.0) < 1.0, answer.inner_text()
    click_and_assert_seek(page, answer.locator(".vqa-time").first, "ask")
    click_and_assert_seek(page, speech, "ask")
    park(page, "ask", 14.0)
    click_and_assert_seek(page, speech_text, "ask")  # the cited moment's text seeks too
    screenshot(page, "upload-and-ask")
    assert page.dialogs == []


def test_a_file_that_is_not_a_video_is_refused_at_upload_with_its_name(page: Any, app: dict[str, Any]) -> None:
    notes = app["root"] / "notes.mp4"
    notes.write_text("this is a text file, not a video\n" * 50)
    page.locator("#vqa-upload input[type=file]").set_input_files(str(notes))
    failed = page.locator("#vqa-ask-progress .vqa-failed")
    failed.wait_for(timeout=30_000)
    assert "notes.mp4: not a media file" in failed.inner_text()
    assert page.locator('video.vqa-player[data-pane="ask"]').get_attribute("data-video") is None


def test_search_result_opens_its_video_at_the_moment(page: Any, app: dict[str, Any], talk: int) -> None:
    open_tab(page, "Search")
    page.locator("#vqa-query textarea").fill("quarterly budget")
    page.locator("#vqa-search").click()
    page.locator("#vqa-results .vqa-hit").first.wait_for(timeout=30_000)
    assert page.locator("#vqa-results .vqa-hit").first.get_attribute("data-video") == str(talk)
    hit = page.locator("#vqa-results .vqa-hit", has=page.locator(".vqa-kind", has_text=re.compile("^speech$"))).first
    assert hit.locator(".vqa-hit-title").inner_text() == "talk"
    assert [m.lower() for m in hit.locator("mark").all_inner_texts()] == ["quarterly", "budget"]
    button = hit.locator(".vqa-time")
    assert abs(float(button.get_attribute("data-t")) - SPEECH[0]) < 1.0
    thumb = hit.locator("img.vqa-thumb")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=20_000)
    assert re.fullmatch(SPAN, button.inner_text()), button.inner_text()
    click_and_assert_seek(page, button, "search")
    assert page.locator('.vqa-player-title[data-pane="search"]').inner_text() == "talk"
    park(page, "search", 15.0)
    click_and_assert_seek(page, thumb, "search")  # the thumbnail seeks
    park(page, "search", 15.0)
    click_and_assert_seek(page, hit.locator(".vqa-hit-text"), "search")  # and the text
    response = page.request.get(app["base"] + thumb.get_attribute("src"))
    assert "max-age=300" in response.headers["cache-control"] and response.headers["etag"]
    screenshot(page, "search")


def test_library_timeline_chapters_downloads_and_a_failed_video(page: Any, app: dict[str, Any], talk: int) -> None:
    broken_id = upload(app["base"], sliver_video(app["root"] / "sliver.mkv"))["id"]
    wait_until(lambda: (get_json(f"{app['base']}/api/v1/videos/{broken_id}") or {}).get("status") == "failed",
               60, 0.5, "the 1-pixel-wide video to fail")

    open_tab(page, "Library")
    table = page.locator("#vqa-library-table")
    table.locator(f'li[data-video="{talk}"]').wait_for(timeout=20_000)
    table.locator(f'li[data-video="{broken_id}"]').wait_for(timeout=20_000)  # the list as it will stay
    assert "ready" in table.locator(f'li[data-video="{talk}"]').inner_text()
    table.locator(f'li[data-video="{talk}"] .vqa-col-title').click()  # a click on the row opens it
    detail = page.locator(f'#vqa-detail .vqa-detail[data-video="{talk}"]')
    detail.wait_for(timeout=20_000)
    assert detail.get_attribute("data-video") == str(talk)
    assert page.locator("#vqa-side .vqa-chapters li").count() >= 1
    lanes = {lane.get_attribute("data-kind"): lane for lane in detail.locator(".vqa-lane").all()}
    assert set(lanes) == {"event", "speech", "text", "visual"}
    speech_bar = lanes["speech"].locator("button.vqa-bar").first
    assert abs(float(speech_bar.get_attribute("data-t")) - SPEECH[0]) < 1.0
    caption_bar = lanes["text"].locator("button.vqa-bar[title*='EXIT']").first
    landed = click_and_assert_seek(page, caption_bar, "library")
    assert CAPTION[0] - 0.5 <= landed <= CAPTION[1]
    click_and_assert_seek(page, speech_bar, "library")
    links = {a.inner_text(): a.get_attribute("href") for a in detail.locator(".vqa-downloads a").all()}
    vtt = page.request.get(app["base"] + links["Transcript (WebVTT)"])
    assert vtt.ok and vtt.text().startswith("WEBVTT") and "budget" in vtt.text().lower()
    assert page.request.get(app["base"] + links["All moments (JSON)"]).json()
    screenshot(page, "library")

    row = table.locator(f'li[data-video="{broken_id}"]')
    row.wait_for(timeout=20_000)  # the table refreshes by itself
    assert "vqa-row-failed" in row.get_attribute("class") and "absurd dimensions" in row.inner_text()
    choose(page, "#vqa-choose", f"#{broken_id},")
    failed = page.locator(f'#vqa-detail .vqa-detail[data-video="{broken_id}"] .vqa-failed')
    failed.wait_for(timeout=20_000)
    assert "sliver" in failed.inner_text() and "absurd dimensions" in failed.inner_text()  # file and reason
    assert page.locator('#vqa-library-player video').count() == 0  # no player that cannot play
    assert "cannot be played" in page.locator("#vqa-library-player").inner_text()
    assert page.locator("#vqa-open-col").inner_text().count("absurd dimensions") == 1  # the reason, once
    retry = page.locator("#vqa-retry")
    assert retry.is_visible() and retry.inner_text().strip() == "Retry"
    failed_job = get_json(f"{app['base']}/api/v1/videos/{broken_id}/job")["job"]["id"]
    page.evaluate("() => { window.__statuses = []; new MutationObserver(() => { const d = document.querySelector("
                  "'#vqa-detail .vqa-detail'); if (d) window.__statuses.push(d.dataset.status); })"
                  ".observe(document.querySelector('#vqa-detail'), {childList: true, subtree: true}); }")
    retry.click()
    wait_until(lambda: ((get_json(f"{app['base']}/api/v1/videos/{broken_id}/job") or {}).get("job") or {}).get("id", 0) > failed_job
               and get_json(f"{app['base']}/api/v1/videos/{broken_id}")["status"] == "failed", 60, 0.5, "the retry to run")
    # the detail follows the retry by itself (no Refresh): failed again, with its reason
    page.wait_for_function("() => window.__statuses.length > 0 && window.__statuses[window.__statuses.length - 1] === 'failed'"
                           " && document.querySelector('#vqa-detail .vqa-failed')", timeout=30_000)
    assert "absurd dimensions" in page.locator("#vqa-detail .vqa-failed").inner_text()
    assert page.dialogs == []


def test_a_file_the_server_refuses_says_why_under_the_player(page: Any, app: dict[str, Any]) -> None:
    """A ready video whose file lies outside the folders this server may serve (a server started
    without the archive roots it was ingested with): the note under the player gives the server's
    reason, not a browser media error."""
    [video_id] = bulk_library(app["db"], 1, 3, path=str(app["root"].parent / "elsewhere" / "talk.mp4"),
                              failed_every=0)
    open_tab(page, "Library")
    choose(page, "#vqa-choose", f"#{video_id},")
    note = page.locator("#vqa-library-player .vqa-play-error")
    note.wait_for(timeout=20_000)
    page.wait_for_function("() => document.querySelector('#vqa-library-player .vqa-play-error')"
                           ".textContent.includes('allowed folders')", timeout=20_000)
    assert "The server did not send this video" in note.inner_text()
    assert "VIDEOQA_ARCHIVE_ROOTS" in note.inner_text()


def test_hostile_titles_and_moments_render_as_text(page: Any, app: dict[str, Any]) -> None:
    video = silent_video(app["root"] / "quiet.mp4", seconds=3)
    video_id = upload(app["base"], video, filename=f"{HOSTILE_TITLE}.mp4")["id"]
    wait_until(lambda: (get_json(f"{app['base']}/api/v1/videos/{video_id}") or {}).get("status") in ("ready", "failed"),
               120, 0.5, "the quiet video")
    engine = engine_for(app["db"])
    with unit_of_work(engine) as session:
        video_row = session.get(Video, video_id)
        assert video_row is not None and video_row.title == HOSTILE_TITLE
        make_moment(session, video_row, None, kind="speech", start=1.0, end=2.0, text=HOSTILE_TEXT)
        make_moment(session, video_row, None, kind="speech", seq=1, start=2.2, end=2.9, text=BRACKETED_TEXT)

    page.reload()
    page.wait_for_selector("#vqa-upload")
    open_tab(page, "Library")
    page.locator(f'#vqa-library-table li[data-video="{video_id}"]').wait_for(timeout=20_000)
    choose(page, "#vqa-choose", f"#{video_id},")
    detail = page.locator(f'#vqa-detail .vqa-detail[data-video="{video_id}"]')
    detail.wait_for(timeout=20_000)
    assert page.locator('#vqa-library-player .vqa-player-title').inner_text() == HOSTILE_TITLE
    assert HOSTILE_TEXT in page.locator("#vqa-side .vqa-moment-list").text_content()
    assert HOSTILE_TITLE in page.locator(f'#vqa-library-table li[data-video="{video_id}"]').inner_text()

    open_tab(page, "Search")
    page.locator("#vqa-query textarea").fill("pwned")
    page.locator("#vqa-search").click()
    hit = page.locator(f'#vqa-results .vqa-hit[data-video="{video_id}"]').first
    hit.wait_for(timeout=30_000)
    assert hit.locator(".vqa-hit-title").inner_text() == HOSTILE_TITLE
    assert "window.__pwned = 1" in hit.locator(".vqa-hit-text").inner_text()
    # the text is shown as it is, brackets too; only the words that match are in <mark>
    results = page.locator(f'#vqa-results .vqa-hit[data-video="{video_id}"]')
    shown = " ".join(results.locator(".vqa-hit-text").all_inner_texts())
    assert HOSTILE_TEXT in shown and BRACKETED_TEXT in shown
    assert [m.lower() for m in results.locator("mark").all_inner_texts()] == ["pwned"] * 4  # "__pwned" twice, "pwned", "Pwned"

    page.wait_for_timeout(1000)  # give any injected handler its chance to run
    assert page.dialogs == []
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"], img[src=\"y\"]').length") == 0
    assert page.evaluate("() => [...document.scripts].filter(s => s.text.includes('__pwned')).length") == 0


def test_with_login_the_page_needs_credentials_and_works_with_them(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    env = videoqa_env(data_dir=tmp_path / "data", web_port=port, auth="ana:s3cret", speech_model="off", ocr="false",
                      embed_model="off")
    server = start_cli(env, "serve", "--no-worker", log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"), 60, 0.5, "the server")
        anonymous = browser.new_context()
        with pytest.raises(sync_api.Error, match="ERR_INVALID_AUTH_CREDENTIALS"):  # the browser got a 401 challenge
            anonymous.new_page().goto(base + "/")
        assert anonymous.request.get(base + "/").status == 401
        anonymous.close()
        context = browser.new_context(http_credentials={"username": "ana", "password": "s3cret"})
        page = context.new_page()
        assert page.goto(base + "/").status == 200
        open_tab(page, "Search")  # a round trip through Gradio's queue, with the page's credentials
        page.locator("#vqa-query textarea").fill("anything")
        page.locator("#vqa-search").click()
        page.locator("#vqa-results", has_text="Nothing found").wait_for(timeout=30_000)
        context.close()
    finally:
        kill_group(server, 15)


@pytest.fixture(scope="module")
def dense(app: dict[str, Any]) -> int:
    """A 2-minute ready video with a dense on-screen-text lane (100 readings 0.5 s apart, 0.2 s each),
    two speech moments, two chapters and no events: rows written straight into the database."""
    (app["root"] / "data" / "media").mkdir(parents=True, exist_ok=True)
    path = silent_video(app["root"] / "data" / "media" / "dense.mp4", seconds=120)
    engine = engine_for(app["db"])
    with unit_of_work(engine) as session:
        video = Video(title="dense lecture", path=str(path), sha256="d" * 64, size=path.stat().st_size,
                      duration=120.0, fps=25.0, width=320, height=240, codec="h264", has_audio=False, status="ready")
        session.add(video)
        session.flush()
        for i in range(100):
            make_moment(session, video, None, kind="text", seq=i, start=2.0 + 0.5 * i, end=2.2 + 0.5 * i,
                        text=f"caption {i}", meta={"start_uncertainty": 0.5, "end_uncertainty": 0.5})
        make_moment(session, video, None, kind="speech", seq=0, start=70.0, end=74.0, text="welcome to the harbour",
                    meta={"start_uncertainty": 0.3, "end_uncertainty": 0.3})
        make_moment(session, video, None, kind="speech", seq=1, start=119.0, end=120.0, text="goodbye",
                    meta={"start_uncertainty": 1.2, "end_uncertainty": 0.3})
        make_moment(session, video, None, kind="chapter", seq=0, start=0.0, end=60.0, text="Captions")
        make_moment(session, video, None, kind="chapter", seq=1, start=60.0, end=120.0, text="The talk")
        video_id = video.id
    engine.dispose()
    return video_id


def test_every_seek_path_of_the_library_and_a_dense_timeline(page: Any, dense: int) -> None:
    open_tab(page, "Library")
    page.locator(f'#vqa-library-table li[data-video="{dense}"]').click()
    detail = page.locator(f'#vqa-detail .vqa-detail[data-video="{dense}"]')
    detail.wait_for(timeout=20_000)
    side = page.locator(f'#vqa-side .vqa-side[data-video="{dense}"]')
    assert detail.locator(".vqa-meta").inner_text().startswith("ready · 0:02:00")
    # chapter: its time button and its title
    chapter = side.locator(".vqa-chapters li").nth(1)
    assert chapter.locator(".vqa-time").inner_text() == "0:01:00.0–0:02:00.0"
    click_and_assert_seek(page, chapter.locator(".vqa-chapter-text"), "library")
    # the text lane at the whole video: one cluster bar that lists its moments and plays the first
    text_lane = detail.locator('.vqa-lane[data-kind="text"]')
    (cluster,) = text_lane.locator("button.vqa-bar").all()
    assert "vqa-cluster" in cluster.get_attribute("class") and cluster.get_attribute("title").startswith("100 moments")
    assert abs(click_and_assert_seek(page, cluster, "library") - 2.0) <= 0.5
    assert "no events found" in detail.locator('.vqa-lane[data-kind="event"]').inner_text()
    # zoomed to the first 30 s: every caption its own bar, each playing from its own start
    # the wheel at the lane's left edge zooms in around 0:00:00
    edge = text_lane.locator(".vqa-lane-track").bounding_box()
    page.mouse.move(edge["x"] + 1, edge["y"] + edge["height"] / 2)
    for _ in range(10):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(50)
    bars = text_lane.locator("button.vqa-bar")
    assert bars.count() >= 56 and "vqa-cluster" not in (bars.nth(9).get_attribute("class") or "")
    assert bars.nth(9).get_attribute("data-t") == "6.500" and bars.nth(9).get_attribute("title").startswith("0:00:06–")
    landed = click_and_assert_seek(page, bars.nth(9), "library")
    assert abs(landed - 6.5) <= 0.5
    assert detail.locator(".vqa-zoom-window").inner_text() == "0:00:00–0:00:30"
    # dragged to the end: the last bar ends inside the lane
    track = detail.locator('.vqa-lane[data-kind="text"] .vqa-lane-track').bounding_box()
    for _ in range(5):
        page.mouse.move(track["x"] + track["width"] - 5, track["y"] + track["height"] + 3)
        page.mouse.down()
        page.mouse.move(track["x"] + 5, track["y"] + track["height"] + 3, steps=6)
        page.mouse.up()
    assert detail.locator(".vqa-zoom-window").inner_text() == "0:01:30–0:02:00"
    speech_lane = detail.locator('.vqa-lane[data-kind="speech"]')
    last = speech_lane.locator("button.vqa-bar").last
    assert last.get_attribute("data-t") == "119.000"
    edges = page.evaluate("([b, t]) => [b.getBoundingClientRect().right, t.getBoundingClientRect().right]",
                          [last.element_handle(), speech_lane.locator(".vqa-lane-track").element_handle()])
    assert edges[0] <= edges[1] + 0.5, edges
    click_and_assert_seek(page, last, "library")
    # the moments list: one page of 50, filtered by kind; a moment's text seeks
    listing = side.locator(".vqa-moment-list")
    assert listing.locator("li:visible").count() == 50 and "page 1 of 3" in listing.inner_text()
    listing.locator(".vqa-mnext").click()
    assert listing.locator("li:visible").first.locator(".vqa-moment-text").inner_text() == "caption 50"
    listing.locator(".vqa-mkind").select_option("speech")
    assert listing.locator("li:visible").count() == 2 and "page 1 of 1" in listing.inner_text()
    goodbye = listing.locator("li:visible").last
    assert goodbye.locator(".vqa-time").inner_text() == "0:01:59–0:02:00\u00a0±1\u00a0s"
    click_and_assert_seek(page, goodbye.locator(".vqa-moment-text"), "library")
    assert page.evaluate("() => document.documentElement.scrollHeight") < 2500
    screenshot(page, "library-dense")


def test_on_a_phone_nothing_scrolls_sideways_and_the_player_stays_in_view(browser: Any, app: dict[str, Any],
                                                                          talk: int) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app["base"] + "/")
        page.wait_for_selector("#vqa-upload")
        banner = page.locator("#vqa-models")
        banner.wait_for()
        assert banner.get_attribute("open") is None and banner.bounding_box()["height"] < 70  # folded: one line
        banner.locator("summary").click()  # and opens with a tap
        assert "tiny random-weight" in banner.inner_text() and banner.get_attribute("open") is not None
        for tab in ("Library", "Search"):
            open_tab(page, tab)
            page.wait_for_timeout(500)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, tab
        page.locator("#vqa-query textarea").fill("quarterly budget")
        page.locator("#vqa-search").click()
        hit = page.locator("#vqa-results .vqa-hit").first
        hit.wait_for(timeout=30_000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        screenshot(page, "search-phone")
        hit.locator(".vqa-hit-text").tap()
        video = page.locator('video.vqa-player[data-pane="search"]')
        page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle(), timeout=20_000)
        box = video.bounding_box()
        assert box["y"] >= -1 and box["y"] + box["height"] <= 844 + 1, box
    finally:
        context.close()


def test_a_library_of_1000_videos_pages_filters_and_opens_rows(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    env = videoqa_env(data_dir=tmp_path / "data", web_port=port, speech_model="off", ocr="false", embed_model="off",
                      vlm_model="")
    server = start_cli(env, "serve", "--no-worker", log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"), 60, 0.5, "the server")
        (tmp_path / "data" / "media").mkdir(parents=True, exist_ok=True)
        clip = silent_video(tmp_path / "data" / "media" / "clip.mp4", seconds=4)
        ids = bulk_library(f"sqlite:///{tmp_path / 'data' / 'videoqa.db'}", 1000, 20_000, str(clip), duration=4.0)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(base + "/")
        open_tab(page, "Library")
        table = page.locator("#vqa-library-table")
        table.locator("li[data-video]").first.wait_for(timeout=30_000)
        assert table.locator("li[data-video]").count() == 50 and "1–50 of 1,000 videos" in table.inner_text()
        assert table.locator("li[data-video]").first.get_attribute("data-video") == str(ids[-1])  # newest first
        page.locator("#vqa-lib-next").click()
        page.wait_for_function("() => document.querySelector('#vqa-library-table').innerText.includes('51–100 of 1,000')")
        assert table.locator("li[data-video]").first.get_attribute("data-video") == str(ids[-51])
        page.locator("#vqa-lib-filter textarea").fill("harbour recording 099")
        page.locator("#vqa-lib-filter textarea").press("Enter")
        page.wait_for_function("() => document.querySelector('#vqa-library-table').innerText.includes('1–5 of 5 videos')")
        choose(page, "#vqa-lib-status", "failed")
        page.wait_for_function("() => document.querySelector('#vqa-library-table').innerText.includes('of 0') || "
                               "document.querySelector('#vqa-library-table').innerText.includes('No video matches')")
        page.locator("#vqa-lib-filter textarea").fill("")
        page.locator("#vqa-lib-filter textarea").press("Enter")
        page.wait_for_function("() => document.querySelector('#vqa-library-table').innerText.includes('1–50 of 100 videos')")
        row = table.locator("li.vqa-row-failed").nth(2)
        assert "no video stream" in row.inner_text()
        video_id = row.get_attribute("data-video")
        row.locator(".vqa-col-title").click()
        page.locator(f'#vqa-detail .vqa-detail[data-video="{video_id}"] .vqa-failed').wait_for(timeout=20_000)
        assert page.locator("#vqa-library-player video").count() == 0
        context.close()
    finally:
        kill_group(server, 15)
