"""Web UI benchmark: how fast a person gets to the second, in Debian's Chromium (Playwright, no
browser download) against a real `videoqa serve` (embedded SQLite, no worker, no models).

    .venv/bin/python -m bench.ui [--runs 3] [--videos 1000] [--moments 100000] [--no-write]
    .venv/bin/python -m bench.ui --screenshots docs/screenshots

- First play from Search: 20 result videos (a 60-s 1280x720 H.264 file each, distinct rows), a
  search that lists 20 hits, then a click on the first hit's time at once (its thumbnails are
  still loading) until the <video> fires `playing`. Cold: the thumbnail cache on disk is emptied
  before each run; warm: it holds every thumbnail. A fresh browser context each run (no browser
  cache). Median of the runs.
- Library first paint: the library holds ``--videos`` videos and ``--moments`` moments
  (bulk-inserted with SQLAlchemy core); from navigation start until the Library tab's first rows
  are on screen, and from a click on a row until its detail (timeline, moments list) is shown.

Writes its table into docs/benchmarks.md (block ``ui``). Targets: first play <= 1.5 s, Library
first paint <= 2 s.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._lib import cli
from bench._lib.media import ffmpeg
from bench._lib.report import run_line, write_block
from tests.factories.browser import CHROMIUM, CHROMIUM_ARGS, bulk_library, get_json
from tests.factories.processes import free_port, kill_group, start_cli, videoqa_env, wait_until

FIRST_PLAY_TARGET = 1.5
LIBRARY_TARGET = 2.0
HITS = 20


def make_video(path: Path, seconds: int = 60) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
           "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", str(path))
    return path


def seed_search(db: str, media: Path) -> None:
    """20 videos, each with one speech moment that matches the query, at different times."""
    from sqlalchemy import insert

    from video_qa.db import engine_for
    from video_qa.models import Moment, Video

    source = make_video(media / "harbour.mp4")
    engine = engine_for(db)
    with engine.begin() as conn:
        for i in range(HITS):
            path = media / f"harbour-{i:02d}.mp4"
            shutil.copyfile(source, path)
            video_id = conn.execute(insert(Video).values(
                title=f"harbour {i:02d}", path=str(path), sha256=f"{i + 1:064x}", size=path.stat().st_size,
                duration=60.0, fps=25.0, width=1280, height=720, codec="h264", has_audio=False,
                status="ready")).inserted_primary_key[0]
            conn.execute(insert(Moment).values(video_id=video_id, clip_index=-1, kind="speech", seq=0,
                                               start=5.0 + 2 * i, end=8.0 + 2 * i,
                                               text=f"the harbour crane lifts container {i}",
                                               meta={"start_uncertainty": 0.3, "end_uncertainty": 0.3}))
    engine.dispose()


FIRST_PLAY_JS = """() => new Promise((resolve) => {
  const button = document.querySelector('#vqa-results .vqa-hit .vqa-time');
  const video = document.querySelector('video.vqa-player[data-pane="search"]');
  const t0 = performance.now();
  video.addEventListener('playing', () => resolve(performance.now() - t0), {once: true});
  button.click();
})"""


def first_play(browser: Any, base: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.wait_for_selector("#vqa-upload")
        page.get_by_role("tab", name="Search").click()
        page.locator("#vqa-query textarea").fill("harbour crane")
        page.locator("#vqa-search").click()
        page.wait_for_function(f"() => document.querySelectorAll('#vqa-results .vqa-hit').length >= {HITS}",
                               timeout=60_000)
        page.wait_for_timeout(50)  # the thumbnails start loading
        return float(page.evaluate(FIRST_PLAY_JS)) / 1000
    finally:
        context.close()


def library_paint(browser: Any, base: str) -> tuple[float, float, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.wait_for_selector("#vqa-tabs")
        shell = page.evaluate("() => performance.now()") / 1000
        page.get_by_role("tab", name="Library").click()
        page.wait_for_selector("#vqa-library-table .vqa-row[data-video]", timeout=60_000)
        painted = page.evaluate("() => performance.now()") / 1000
        row = page.locator("#vqa-library-table .vqa-row[data-video]").nth(3)
        video_id = row.get_attribute("data-video")
        started = time.perf_counter()
        row.locator(".vqa-col-title").click()
        page.wait_for_selector(f'#vqa-detail .vqa-detail[data-video="{video_id}"]', timeout=60_000)
        page.wait_for_selector(f'#vqa-side .vqa-side[data-video="{video_id}"] .vqa-moment-list', timeout=60_000)
        return shell, painted, time.perf_counter() - started
    finally:
        context.close()


def seed_demo(db: str, media: Path) -> dict[str, int]:
    """For the screenshots: a ready talk (speech, on-screen text with its uncertainty, chapters), a
    failed upload, and a 6-minute lecture whose text lane holds 229 captions (the issue's case)."""
    from sqlalchemy import insert

    from video_qa.db import engine_for
    from video_qa.models import Moment, Video

    source = media / "harbour.mp4"
    ids: dict[str, int] = {}
    engine = engine_for(db)
    with engine.begin() as conn:
        def video(key: str, **values: Any) -> int:
            values = {"path": str(source), "sha256": f"{len(ids) + 900:064x}", "size": source.stat().st_size,
                      "fps": 25.0, "width": 1280, "height": 720, "codec": "h264", "has_audio": True, **values}
            ids[key] = int(conn.execute(insert(Video).values(**values)).inserted_primary_key[0])
            return ids[key]

        def moments(video_id: int, rows: list[tuple[str, float, float, str, float]]) -> None:
            conn.execute(insert(Moment), [{"video_id": video_id, "clip_index": -1, "kind": k, "seq": i, "start": a,
                                           "end": b, "text": t, "meta": {"start_uncertainty": u, "end_uncertainty": u,
                                                                         **({"labels": [{"vocab": "imagenet", "label": w, "score": 0.9 - 0.2 * j}
                                                                                        for j, w in enumerate(t.split(", "))]}
                                                                            if k == "visual" else {})}}
                                          for i, (k, a, b, t, u) in enumerate(rows)])

        talk = video("talk", title="Quarterly review", duration=60.0, status="ready",
                     summary="The quarterly budget is approved; the new harbour crane arrives in May.")
        moments(talk, [("chapter", 0.0, 30.0, "Budget", 0.0), ("chapter", 30.0, 60.0, "The new crane", 0.0),
                       ("speech", 3.0, 6.4, "the quarterly budget is approved", 0.3),
                       ("speech", 31.2, 35.0, "the harbour crane arrives in May", 0.3),
                       ("text", 10.0, 16.0, "EXIT 12", 1.5), ("text", 40.0, 52.0, "HARBOUR CRANE 2027", 0.5),
                       ("event", 20.0, 24.0, "a man points at a chart", 0.2),
                       ("visual", 0.0, 30.0, "crane, container ship", 0.2),
                       ("visual", 30.0, 60.0, "dock, forklift", 0.2)])
        video("truncated", title="half download", duration=14.0, status="ready", probe={"claimed_duration": 30.0},
              summary="A file cut short: 14 s of its 30 s can be read.")
        video("failed", title="sliver", duration=None, status="failed", width=None, height=None, codec=None,
              error="sliver.mkv: absurd dimensions (1×480): not a video a player can show")
        lecture = video("lecture", title="Lecture: harbour logistics", duration=360.0, status="ready",
                        summary="Six minutes on cranes, containers and schedules, with a caption on every slide.")
        rows = [("chapter", 120.0 * c, 120.0 * (c + 1), title, 0.0)
                for c, title in enumerate(["Cranes", "Containers", "Schedules"])]
        rows += [("text", 5.0 + 1.5 * i, 6.0 + 1.5 * i, f"caption line {i}", 0.5) for i in range(229)]
        rows += [("speech", 20.0 * i + 3, 20.0 * i + 9, f"the harbour lecture, part {i}", 0.3) for i in range(18)]
        rows += [("visual", 40.0 * i, 40.0 * (i + 1), ("crane, container ship", "whiteboard, person")[i % 2], 0.2)
                 for i in range(9)]
        moments(lecture, rows)
    engine.dispose()
    return ids


def screenshots(browser: Any, base: str, ids: dict[str, int], out: Path) -> None:
    """Each tab at 1280 and 390 px: Upload & Ask with a ready video, the Library with the dense
    lecture and with the failed video, Search with results and a result playing."""
    out.mkdir(parents=True, exist_ok=True)
    for width, suffix in ((1280, ""), (390, "-390")):
        phone = width < 600
        context = browser.new_context(viewport={"width": width, "height": 900 if not phone else 844},
                                      is_mobile=phone, has_touch=phone)
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#vqa-upload")
        page.locator("#vqa-pick input").click()
        page.get_by_role("option").filter(has_text=f"#{ids['talk']},").first.click()
        page.wait_for_selector("#vqa-ask-progress [data-status=ready]")
        page.screenshot(path=str(out / f"upload-and-ask{suffix}.png"), full_page=True)
        page.get_by_role("tab", name="Library").click()
        for key, name in (("lecture", "library"), ("failed", "library-failed")):
            page.locator(f'#vqa-library-table .vqa-row[data-video="{ids[key]}"] .vqa-col-title').click()
            page.wait_for_selector(f'#vqa-detail .vqa-detail[data-video="{ids[key]}"]')
            page.wait_for_function("() => [...document.querySelectorAll('#vqa-library-table img.vqa-card-thumb')].slice(0, 4)"
                                   ".every(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=True)
        page.get_by_role("tab", name="Search").click()
        page.locator("#vqa-query textarea").fill("harbour crane")
        page.locator("#vqa-search").click()
        page.wait_for_selector("#vqa-results .vqa-hit")
        page.locator("#vqa-results .vqa-hit .vqa-hit-text").first.click()
        page.wait_for_function("() => document.querySelector('video.vqa-player[data-pane=\"search\"]').currentTime > 0.5")
        page.wait_for_function("() => [...document.querySelectorAll('img.vqa-thumb')].slice(0, 5)"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
        page.screenshot(path=str(out / f"search{suffix}.png"), full_page=not phone)
        context.close()


def main() -> None:
    parser = cli("ui", __doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure (the table shows their median)")
    parser.add_argument("--videos", type=int, default=1000, help="videos in the Library")
    parser.add_argument("--moments", type=int, default=100_000, help="moments in the Library")
    parser.add_argument("--no-write", action="store_true", help="print the table, do not write docs/benchmarks.md")
    parser.add_argument("--library-only", action="store_true", help="skip first play (implies --no-write)")
    parser.add_argument("--screenshots", type=Path, help="only write screenshots of each tab into this folder")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="videoqa-bench-ui-"))
    data = root / "data"
    media = data / "media"
    media.mkdir(parents=True)
    port = free_port()
    env = videoqa_env(data_dir=data, web_port=port, speech_model="off", ocr="false", embed_model="off", vlm_model="")
    server = start_cli(env, "serve", "--no-worker", log=root / "serve.log")
    base = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{data / 'videoqa.db'}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"), 90, 0.5, "the server")
        seed_search(db, media)
        if args.screenshots:
            ids = seed_demo(db, media)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                screenshots(browser, base, ids, args.screenshots)
                browser.close()
            return
        cold, warm = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(0 if args.library_only else args.runs):
                shutil.rmtree(data / "thumbs", ignore_errors=True)
                cold.append(first_play(browser, base))
            for _ in range(0 if args.library_only else args.runs):
                warm.append(first_play(browser, base))
            started = time.perf_counter()
            bulk_library(db, args.videos, args.moments, str(media / "harbour.mp4"), duration=60.0)
            loaded = time.perf_counter() - started
            shells, paints, opens = [], [], []
            for _ in range(args.runs):
                shell, paint, opened = library_paint(browser, base)
                shells.append(shell)
                paints.append(paint)
                opens.append(opened)
            browser.close()
    finally:
        kill_group(server, 15)
        shutil.rmtree(root, ignore_errors=True)
    rows = [("first play from Search, cold thumbnail cache", cold, FIRST_PLAY_TARGET),
            ("first play from Search, warm thumbnail cache", warm, FIRST_PLAY_TARGET),
            (f"Library first paint ({args.videos:,} videos, {args.moments:,} moments)", paints, LIBRARY_TARGET),
            ("of which: the Gradio page itself (navigation start until its tabs exist)", shells, None),
            ("of which: the Library's rows once the page is up", [p - s for p, s in zip(paints, shells)], None),
            ("Library: click a row until its detail is shown", opens, None)]
    lines = [f"{run_line('ui')} (at the end), Chromium headless, "
             f"`videoqa serve --no-worker` on SQLite; median of {args.runs} runs "
             f"(bulk insert of the library: {loaded:.1f} s).", "",
             "| measure | median s | runs s | target | met |", "| --- | --- | --- | --- | --- |"]
    for name, values, target in rows:
        if not values:
            continue
        median = statistics.median(values)
        met = "-" if target is None else ("yes" if median <= target else "no")
        lines.append(f"| {name} | {median:.2f} | {', '.join(f'{v:.2f}' for v in values)} | "
                     f"{'-' if target is None else f'≤ {target} s'} | {met} |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write and not args.library_only:
        write_block("ui", "Web UI (`bench/ui.py`)", body)


if __name__ == "__main__":
    main()
