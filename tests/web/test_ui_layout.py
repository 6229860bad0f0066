"""The page's layout and the timeline in Chromium, measured: a `videoqa serve --no-worker` over
rows written straight into its database (no models), Debian's Chromium driven by Playwright.

At 1280 px: a header with the name and the models' state on one line; no player in any tab before
a video is chosen; the library as cards with thumbnails that stays where it is when a video
opens; the player and its moments side by side; the timeline as wide as its container, its
overlapping bars stacked so that each one is what a click at its middle hits, round ticks, wheel
and drag zoom, a thumbnail on hover, a Visual lane whose bars seek exactly. A failed video says its
reason once; a truncated one says so on its card and under its player. "Find similar" on a visual
moment lists what the API answers in the Search tab, and its results seek exactly. At 390 px:
everything stacked, nothing scrolls sideways."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories.browser import (EXACT, choose, click_and_assert_seek, get_json, open_tab, park,
                                     require_browser, screenshot)
from tests.factories.media import silent_video
from tests.factories.processes import free_port, kill_group, start_cli, videoqa_env, wait_until

require_browser()
pytestmark = pytest.mark.browser

SHOTS = [(0.0, 40.0), (12.0, 30.0), (20.0, 25.0), (50.0, 60.0)]  # overlapping visual moments, in seconds
REASON = "broken.mp4: not a complete video file (the end is missing); re-upload or re-download it"
LONG_TITLE = "broken_download_of_the_harbour_camera_recording_2024-06-01.mp4"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("layout")
    port = free_port()
    env = videoqa_env(data_dir=root / "data", web_port=port, speech_model="off", ocr="false", embed_model="off",
                      vlm_model="", visual_model="tiny")
    server = start_cli(env, "serve", "--no-worker", log=root / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"), 90, 0.5, "the server")
        (root / "data" / "media").mkdir(parents=True, exist_ok=True)
        clip = silent_video(root / "data" / "media" / "scene.mp4", seconds=120)
        yield {"base": base, "ids": seed(f"sqlite:///{root / 'data' / 'videoqa.db'}", clip)}
    finally:
        kill_group(server, 15)


def seed(db: str, clip: Path) -> dict[str, int]:
    """A ready 2-minute video (overlapping visual shots with labels, speech, captions, chapters), a
    second ready one, a truncated one, a failed one and a failed one with a long file-like title."""
    from sqlalchemy import insert

    from video_qa.db import engine_for
    from video_qa.models import Moment, Video

    ids: dict[str, int] = {}
    engine = engine_for(db)
    with engine.begin() as conn:
        for key, extra in (("other", {"duration": 120.0, "status": "ready"}),
                           ("cut", {"duration": 14.0, "status": "ready", "probe": {"claimed_duration": 30.0}}),
                           ("failed", {"duration": None, "status": "failed", "error": REASON}),
                           ("long", {"duration": None, "status": "failed", "error": REASON, "title": LONG_TITLE}),
                           ("scene", {"duration": 120.0, "status": "ready", "summary": "Shots of a street."})):
            ids[key] = int(conn.execute(insert(Video).values(
                **{"title": key, **extra}, path=str(clip), sha256=f"{len(ids) + 700:064x}", size=clip.stat().st_size, fps=25.0,
                width=320, height=240, codec="h264", has_audio=False)).inserted_primary_key[0])
        exact = {"start_uncertainty": 0.1, "end_uncertainty": 0.1}
        rows = [{"kind": "visual", "start": a, "end": b, "text": f"shot {i}",
                 "meta": {**exact, "keyframe": a, "labels": [{"vocab": "imagenet", "label": f"label {i}", "score": 0.9}]}}
                for i, (a, b) in enumerate(SHOTS)]
        rows += [{"kind": "speech", "start": 70.0, "end": 74.0, "text": "hello street", "meta": exact},
                 {"kind": "speech", "start": 30.02, "end": 30.20, "text": "yes",  # timed to 0.3 s, as speech is
                  "meta": {"start_uncertainty": 0.3, "end_uncertainty": 0.3}},
                 {"kind": "text", "start": 5.0, "end": 9.0, "text": "EXIT 12", "meta": exact},
                 {"kind": "chapter", "start": 0.0, "end": 60.0, "text": "Street", "meta": exact},
                 {"kind": "chapter", "start": 60.0, "end": 120.0, "text": "Talk", "meta": exact}]
        conn.execute(insert(Moment), [{"video_id": ids["scene"], "clip_index": -1, "seq": i, **r} for i, r in enumerate(rows)])
        conn.execute(insert(Moment), [{"video_id": ids["other"], "clip_index": -1, "seq": 0, "kind": "visual",
                                       "start": 64.0, "end": 80.0, "text": "a street again", "meta": exact}])
    engine.dispose()
    return ids


def new_page(browser: Any, site: dict[str, Any], width: int, height: int) -> Any:
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(site["base"] + "/")
    page.wait_for_selector("#vqa-upload")
    return page


def box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).first.bounding_box()


def open_video(page: Any, video_id: int) -> None:
    open_tab(page, "Library")
    page.locator(f'#vqa-library-table .vqa-row[data-video="{video_id}"] .vqa-col-title').click()
    page.locator(f'#vqa-detail .vqa-detail[data-video="{video_id}"]').wait_for(timeout=20_000)


def visible_players(page: Any) -> int:
    return page.evaluate("() => [...document.querySelectorAll('video')].filter(v => v.getBoundingClientRect().height > 0).length")


def test_a_product_layout_at_1280(browser: Any, site: dict[str, Any]) -> None:
    page = new_page(browser, site, 1280, 900)
    ids = site["ids"]
    header = page.locator("#vqa-header .vqa-header")
    assert header.locator(".vqa-brand").inner_text() == "VideoQA"
    banner = page.locator("#vqa-models")
    assert banner.bounding_box()["height"] < 40  # one compact line
    assert "No vision-language model" in banner.inner_text() and "visual model: tiny twin" in banner.inner_text()
    banner.locator("summary").click()
    assert "VIDEOQA_VLM_MODEL" in banner.inner_text() and "VIDEOQA_VISUAL_MODEL" in banner.inner_text()
    assert visible_players(page) == 0  # Upload & Ask: no empty player
    for tab in ("Library", "Search"):
        open_tab(page, tab)
        page.wait_for_timeout(300)
        assert visible_players(page) == 0, tab
    open_tab(page, "Library")
    card = page.locator(f'#vqa-library-table .vqa-row[data-video="{ids["scene"]}"]')
    card.wait_for(timeout=20_000)
    thumb = card.locator("img.vqa-card-thumb")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=30_000)
    assert "/thumbnail?t=" in thumb.get_attribute("src")
    list_top = box(page, "#vqa-library-table")["y"]
    open_video(page, ids["scene"])
    assert abs(box(page, "#vqa-library-table")["y"] - list_top) < 2 and list_top < 400  # the list stays where it is
    player, side = box(page, "#vqa-library-player video"), box(page, "#vqa-side .vqa-side")
    assert side["x"] >= player["x"] + player["width"] - 1 and abs(side["y"] - player["y"]) < 60  # side by side
    assert player["width"] > 400
    detail, track = box(page, "#vqa-detail .vqa-detail"), box(page, '.vqa-lane[data-kind="visual"] .vqa-lane-track')
    assert track["x"] + track["width"] >= detail["x"] + detail["width"] - 2 and track["width"] > 0.8 * detail["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    screenshot(page, "layout-1280")
    page.context.close()


def test_everything_stacks_at_390_and_nothing_scrolls_sideways(browser: Any, site: dict[str, Any]) -> None:
    page = new_page(browser, site, 390, 844)
    assert box(page, "#vqa-models")["height"] < 70
    open_video(page, site["ids"]["scene"])
    player, side = box(page, "#vqa-library-player video"), box(page, "#vqa-side .vqa-side")
    assert side["y"] >= player["y"] + player["height"] - 1  # stacked: the moments under the player
    for tab in ("Upload & Ask", "Library", "Search"):
        open_tab(page, tab)
        page.wait_for_timeout(300)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, tab
    page.context.close()


def bar_rects(page: Any, kind: str) -> list[dict[str, Any]]:
    return page.evaluate("""kind => [...document.querySelectorAll(`.vqa-lane[data-kind="${kind}"] button.vqa-bar`)].map(b => {
      const r = b.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return {t: b.dataset.t, left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height, mine: hit === b};
    })""", kind)


def window(page: Any) -> str:
    return page.locator("#vqa-detail .vqa-zoom-window").inner_text()


def test_the_timeline_stacks_zooms_by_wheel_and_drag_shows_thumbnails_and_seeks(browser: Any, site: dict[str, Any]) -> None:
    page = new_page(browser, site, 1280, 900)
    open_video(page, site["ids"]["scene"])
    bars = bar_rects(page, "visual")
    assert sorted(b["t"] for b in bars) == [f"{a:.3f}" for a, _ in SHOTS]
    assert all(b["mine"] for b in bars), bars  # no bar covers another's click target
    for a in bars:
        assert a["height"] >= 16
        for b in bars:
            if a is not b:
                apart = a["right"] <= b["left"] + 0.5 or b["right"] <= a["left"] + 0.5
                assert apart or a["bottom"] <= b["top"] + 0.5 or b["bottom"] <= a["top"] + 0.5, (a, b)
    ticks = page.locator("#vqa-detail .vqa-ticks span").all_inner_texts()
    assert ticks == ["0:00:00", "0:00:15", "0:00:30", "0:00:45", "0:01:00", "0:01:15", "0:01:30", "0:01:45", "0:02:00"]
    # each stacked shot seeks to its own start
    for t in ("20.000", "12.000"):
        park(page, "library", 100.0)
        landed = click_and_assert_seek(page, page.locator(f'.vqa-lane[data-kind="visual"] button.vqa-bar[data-t="{t}"]'),
                                       "library")
        assert abs(landed - float(t)) <= 0.5
    # the wheel zooms around the pointer, to a round-ticked window
    track = box(page, '.vqa-lane[data-kind="visual"] .vqa-lane-track')
    page.mouse.move(track["x"] + track["width"] * 0.25, track["y"] + 5)  # over 0:00:30
    for _ in range(6):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(50)
    lo, hi = [int(p.split(":")[1]) * 60 + int(p.split(":")[2]) for p in window(page).split("–")]
    assert hi - lo < 40 and lo <= 30 <= hi, window(page)
    ticks = page.locator("#vqa-detail .vqa-ticks span").all_inner_texts()
    assert ticks and all(int(t.split(":")[2]) % 5 == 0 for t in ticks), ticks
    # a drag to the left moves the window later
    page.mouse.move(track["x"] + track["width"] * 0.8, track["y"] + track["height"] + 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.3, track["y"] + track["height"] + 2, steps=8)
    page.mouse.up()
    later = [int(p.split(":")[1]) * 60 + int(p.split(":")[2]) for p in window(page).split("–")]
    assert later[0] > lo + 10, (lo, window(page))
    # hover: the thumbnail at that time, from the cached thumbnail route
    page.locator("#vqa-detail .vqa-zoom-level").evaluate(
        "el => { el.value = 0; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert window(page) == "0:00:00–0:02:00"
    page.mouse.move(track["x"] + track["width"] * 0.75, track["y"] + 5)
    preview = page.locator("#vqa-detail .vqa-preview")
    preview.wait_for(state="visible", timeout=5_000)
    img = preview.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle(), timeout=30_000)
    assert re.search(r"/thumbnail\?t=90\.0$", img.get_attribute("src")), img.get_attribute("src")
    assert preview.locator(".vqa-preview-time").inner_text() == "0:01:30"
    page.context.close()


def test_a_failed_video_says_why_once_and_a_truncated_one_says_so(browser: Any, site: dict[str, Any]) -> None:
    page = new_page(browser, site, 1280, 900)
    ids = site["ids"]
    open_tab(page, "Library")
    cut = page.locator(f'#vqa-library-table .vqa-row[data-video="{ids["cut"]}"]')
    cut.wait_for(timeout=20_000)
    assert "truncated: 14 s of 30 s readable" in cut.inner_text()
    open_video(page, ids["cut"])
    assert "truncated: 14 s of 30 s readable" in page.locator("#vqa-library-player .vqa-notice").inner_text()
    open_video(page, ids["failed"])
    assert page.locator("#vqa-library-player video").count() == 0
    shown = page.locator("#vqa-open-col").inner_text()
    assert shown.count("not a complete video file") == 1 and "re-upload or re-download it" in shown
    assert "failed" in page.locator(f'#vqa-library-table .vqa-row[data-video="{ids["failed"]}"]').inner_text()
    # Upload & Ask says the truncated file's notice too, in the same words (issue 28)
    open_tab(page, "Upload & Ask")
    choose(page, "#vqa-pick", f"cut (#{ids['cut']}, ready)")
    notice = page.locator("#vqa-ask-progress .vqa-notice")
    notice.wait_for(timeout=20_000)
    assert notice.inner_text() == "truncated: 14 s of 30 s readable"
    assert page.locator("#tab-ask").inner_text().count("truncated") == 1
    page.context.close()


def test_moment_labels_are_in_tenths_and_seek_to_their_start(browser: Any, site: dict[str, Any]) -> None:
    """Issue 28: a 0.18-s speech moment known to 0.3 s is labelled 0:00:30.0–0:00:30.2 (not
    0:00:30–0:00:30), as the answer text would write its times, and plays from 30.02 s."""
    page = new_page(browser, site, 1280, 900)
    open_video(page, site["ids"]["scene"])
    short = page.locator("#vqa-side li[data-kind=speech]").filter(has_text="yes").locator(".vqa-time")
    assert short.inner_text() == "0:00:30.0–0:00:30.2"
    hello = page.locator("#vqa-side li[data-kind=speech]").filter(has_text="hello street").locator(".vqa-time")
    assert hello.inner_text() == "0:01:10.0–0:01:14.0"
    park(page, "library", 100.0)
    landed = click_and_assert_seek(page, short, "library", tolerance=EXACT)
    assert abs(landed - 30.02) <= EXACT
    page.context.close()


def line_ends(page: Any, selector: str) -> list[str]:
    """The text of each line the element's text is laid out in, as Chromium drew it (by each
    character's top)."""
    return page.evaluate("""sel => {
      const el = document.querySelector(sel), lines = [];
      let top = null;
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walk.nextNode(); node; node = walk.nextNode()) {
        for (let i = 0; i < node.length; i++) {
          const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
          const y = Math.round(r.getBoundingClientRect().top);
          if (top === null || Math.abs(y - top) > 2) { lines.push(''); top = y; }
          lines[lines.length - 1] += node.data[i];
        }
      }
      return lines;
    }""", selector)


def test_library_cards_and_the_moments_header_at_1400(browser: Any, site: dict[str, Any]) -> None:
    """Issue 28's cosmetics: a truncated card says "truncated" once; a long file-like title wraps
    after "_", "-" or ".", never mid-word, and its title attribute is the whole name; the moments
    header's kind selector shows its whole text and Next stays on the line of Prev."""
    page = new_page(browser, site, 1400, 900)
    ids = site["ids"]
    open_tab(page, "Library")
    cut = page.locator(f'#vqa-library-table .vqa-row[data-video="{ids["cut"]}"]')
    cut.wait_for(timeout=20_000)
    text = cut.locator(".vqa-col-status").inner_text()
    assert text.count("truncated") == 1 and "truncated: 14 s of 30 s readable" in text, text
    title = f'#vqa-library-table .vqa-row[data-video="{ids["long"]}"] .vqa-col-title'
    assert page.locator(title).get_attribute("title") == LONG_TITLE
    lines = line_ends(page, title)
    assert "".join(lines) == LONG_TITLE and len(lines) > 1, lines  # it does wrap in a card this narrow
    assert all(line[-1] in "_-." for line in lines[:-1]), lines  # and only after a separator
    open_video(page, ids["scene"])
    head = page.evaluate("""() => {
      const l = document.querySelector('#vqa-side .vqa-moment-list'), s = l.querySelector('select.vqa-mkind');
      const top = sel => Math.round(l.querySelector(sel).getBoundingClientRect().top);
      const cs = getComputedStyle(s), ctx = document.createElement('canvas').getContext('2d');
      ctx.font = cs.font;
      return {tops: [top('select.vqa-mkind'), top('.vqa-mprev'), top('.vqa-mpage'), top('.vqa-mnext')],
              text: ctx.measureText(s.options[s.selectedIndex].text).width, left: parseFloat(cs.paddingLeft),
              right: parseFloat(cs.paddingRight), width: s.clientWidth, selected: s.options[s.selectedIndex].text,
              list: Math.round(l.getBoundingClientRect().right), next: Math.round(l.querySelector('.vqa-mnext').getBoundingClientRect().right)};
    }""")
    assert head["selected"] == "all kinds"
    assert max(head["tops"]) - min(head["tops"]) <= 6, head  # kind, Prev, page and Next on one line
    assert head["next"] <= head["list"], head  # inside the list, not cut off
    # the option's text fits between the left padding and the arrow's room (at least 16 px on the right)
    assert head["right"] >= 16 and head["left"] + head["text"] + head["right"] <= head["width"] + 0.5, head
    screenshot(page, "library-1400")
    page.context.close()


def test_find_similar_on_a_visual_moment_lists_the_answer_in_search_and_it_seeks(browser: Any, site: dict[str, Any]) -> None:
    page = new_page(browser, site, 1280, 900)
    ids = site["ids"]
    asked: list[str] = []
    answer = [{"video_id": ids["other"], "title": "other", "start": 64.0, "end": 80.0, "kind": "visual",
               "text": "a street again", "highlights": [], "score": 0.9, "moment_ids": [999], "kinds": ["visual"],
               "start_uncertainty": 0.1, "end_uncertainty": 0.1},
              {"video_id": ids["scene"], "title": "scene", "start": 50.0, "end": 60.0, "kind": "visual",
               "text": "colour bars", "highlights": [], "score": 0.581234, "moment_ids": [998], "kinds": ["visual"],
               "start_uncertainty": 0.1, "end_uncertainty": 0.1}]

    def similar(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route(re.compile(r".*/api/v1/moments/\d+/similar$"), similar)
    open_video(page, ids["scene"])
    shot = page.locator("#vqa-side li[data-kind=visual]").first
    assert "label 0" in shot.locator(".vqa-label").first.inner_text() and "0.90" in shot.inner_text()
    shot.locator("button.vqa-similar").click()
    hit = page.locator(f'#vqa-results .vqa-hit[data-video="{ids["other"]}"]')
    hit.wait_for(timeout=20_000)
    assert len(asked) == 1 and asked[0].endswith(f"/api/v1/moments/{shot.locator('button.vqa-similar').get_attribute('data-similar')}/similar")
    assert "look like moment" in page.locator("#vqa-results .vqa-results-heading").inner_text()
    # each hit's score, as the API gave it (issue 28: a 0.58 is seen to be a weak match)
    scores = page.locator("#vqa-results .vqa-hit .vqa-score")
    assert scores.all_inner_texts() == ["similarity 0.90", "similarity 0.58"]
    assert scores.nth(1).get_attribute("title") == "cosine similarity to the query, -1 to 1: 0.581234"
    assert page.get_by_role("tab", name="Search").get_attribute("aria-selected") == "true"
    landed = click_and_assert_seek(page, hit.locator(".vqa-time"), "search")
    assert abs(landed - 64.0) <= 0.5
    page.context.close()


def test_a_failed_upload_is_chosen_in_the_dropdown_and_asking_it_says_why(browser: Any, site: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    """Issue 28: after asking about a ready video, a broken file is uploaded through the page; the
    dropdown then names the upload (failed), and a question gets the CLI's words for a failed video,
    not "no moment of this video matches"."""
    whole = silent_video(tmp_path / "whole.mp4", seconds=4)
    broken = tmp_path / "broken_download.mp4"
    broken.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    page = new_page(browser, site, 1280, 900)
    choose(page, "#vqa-pick", f"other (#{site['ids']['other']}, ready)")
    page.locator("#vqa-ask-player video").wait_for(timeout=20_000)
    page.locator("#vqa-upload input[type=file]").set_input_files(str(broken))
    page.locator("#vqa-ask-progress .vqa-failed").wait_for(timeout=60_000)
    assert "broken_download.mp4: not a complete video file" in page.locator("#vqa-ask-progress").inner_text()
    picked = page.locator("#vqa-pick input")
    page.wait_for_function("el => el.value.startsWith('broken_download (#')", arg=picked.element_handle(), timeout=20_000)
    failed = int(re.match(r"broken_download \(#(\d+), failed\)$", picked.input_value()).group(1))
    page.locator("#vqa-question textarea").fill("What is the lighthouse?")
    page.locator("#vqa-ask").click()
    answer = page.locator("#vqa-chat .vqa-a").last
    answer.wait_for(timeout=20_000)
    text = answer.inner_text()
    assert f"video {failed} failed, so it has nothing to ask about: broken_download.mp4: not a complete video file" in text
    assert "matches the question" not in text
    page.context.close()

