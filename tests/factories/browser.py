"""A real `videoqa serve` and Debian's Chromium driven by Playwright (no browser download), plus the
checks the UI tests share: that a click seeks the pane's <video> and that it plays.

Browser tests get Playwright from ``require_browser()`` (never ``pytest.importorskip``) and carry the
``browser`` marker: without Playwright or Chromium they are skipped on a developer's machine and fail
under CI (``CI=true``), so a CI run cannot pass without running them."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.factories.processes import REPO, multipart_file

CHROMIUM = "/usr/bin/chromium"
# as root in a closed network: no sandbox, no GPU, nothing that phones home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("VIDEOQA_TEST_ARTIFACTS", REPO / "test-artifacts"))
SEEK_TOLERANCE = 0.5
EXACT = 0.05  # a moment with exact times (a cut, a keyframe) seeks to within this


def under_ci() -> bool:
    """Is this a CI run (``CI`` set to anything but empty, 0, false or no, as CI services set it)?"""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_browser() -> list[str]:
    """What the browser tests need and this machine lacks (empty when they can run)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401 - a test dependency (pyproject's test extra)
    except ImportError as error:
        missing.append(f"Playwright is not installed ({error})")
    if not Path(CHROMIUM).is_file():
        missing.append(f"{CHROMIUM} is missing (scripts/install.sh installs Debian's chromium)")
    return missing


def require_browser() -> Any:
    """``playwright.sync_api`` when the browser tests can run; else a skip, or under CI a failure."""
    missing = missing_browser()
    if missing:
        reason = "browser tests cannot run: " + "; ".join(missing)
        if under_ci():
            pytest.fail(f"{reason} (CI is set: a browser test that does not run is a failure)", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    from playwright import sync_api

    return sync_api


def get_json(url: str, auth: str | None = None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {auth}"} if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
            return json.loads(response.read())
    except OSError:
        return None


def upload(base: str, path: Path, filename: str | None = None) -> dict[str, Any]:
    """POST a file to /api/v1/videos as multipart form data (``filename`` is what the server is told)."""
    body, content_type = multipart_file(path.read_bytes(), filename or path.name)
    request = urllib.request.Request(f"{base}/api/v1/videos", data=body, method="POST",
                                     headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def choose(page: Any, dropdown: str, option_text: str) -> None:
    """Pick the option of a Gradio dropdown whose label contains ``option_text`` (literally)."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option").filter(has_text=option_text).first.click()


_HOOK = """pane => {
  window.__seeks = [];
  if (!window.__seekHook) {
    window.__seekHook = true;
    document.addEventListener('seeked', e => {
      if (e.target.dataset) window.__seeks.push([e.target.dataset.pane, e.target.currentTime]);
    }, true);
  }
}"""


def click_and_assert_seek(page: Any, button: Any, pane: str, tolerance: float = SEEK_TOLERANCE) -> float:
    """Click a moment button; the pane's video must land within ``tolerance`` s of the button's time
    (``video.currentTime`` read at the `seeked` event) and then play on from there. Returns the time
    it landed on."""
    t = float(button.get_attribute("data-t"))
    video_id = button.get_attribute("data-video")
    page.evaluate(_HOOK, pane)
    button.click()
    page.wait_for_function("pane => window.__seeks.some(s => s[0] === pane)", arg=pane, timeout=20_000)
    landed = page.evaluate("pane => window.__seeks.filter(s => s[0] === pane).pop()[1]", pane)
    assert abs(landed - t) <= tolerance, (landed, t)
    selector = f'video.vqa-player[data-pane="{pane}"]'
    page.wait_for_function(
        "([sel, from]) => { const v = document.querySelector(sel); return !v.paused && v.currentTime > from + 0.2; }",
        arg=[selector, landed], timeout=20_000)
    state = page.evaluate("sel => { const v = document.querySelector(sel); return [v.dataset.video, v.paused, "
                          "v.currentSrc]; }", selector)
    assert state[0] == video_id and state[1] is False and state[2].endswith(f"/api/v1/videos/{video_id}/media"), state
    return landed


def bulk_library(database_url: str, videos: int, moments: int, path: str, duration: float = 600.0,
                 failed_every: int = 10) -> list[int]:
    """``videos`` rows (every ``failed_every``-th failed, with a reason) and ``moments`` moments spread
    over them, inserted with SQLAlchemy core in a few statements (a library of 1,000 in about a second).
    Every row points at ``path`` (a real file in the allowed folders). Returns the new ids, oldest first."""
    from sqlalchemy import insert, select

    from video_qa.db import engine_for
    from video_qa.models import Moment, Video

    engine = engine_for(database_url)
    with engine.begin() as conn:
        first = (conn.scalar(select(Video.id).order_by(Video.id.desc()).limit(1)) or 0) + 1
        rows = [{"id": first + i, "title": f"{'harbour' if i % 2 else 'lecture'} recording {i:04d}", "path": path,
                 "sha256": f"{first + i:064x}", "size": 1000 + i, "duration": duration, "fps": 30.0, "width": 640,
                 "height": 360, "codec": "h264", "has_audio": True,
                 "status": "failed" if failed_every and i % failed_every == 0 else "ready",
                 "error": f"recording {i:04d}.mp4: no video stream" if failed_every and i % failed_every == 0 else None,
                 "summary": f"Recording {i} of the harbour: cranes, ships and a long talk about the budget."}
                for i in range(videos)]
        conn.execute(insert(Video), rows)
        per = max(1, moments // max(1, videos))
        batch = []
        for i in range(videos):
            for j in range(per):
                start = j * duration / per
                batch.append({"video_id": first + i, "clip_index": -1, "kind": ("speech", "text", "event")[j % 3],
                              "seq": j, "start": start, "end": start + 2.0, "text": f"moment {j} of recording {i}",
                              "meta": {"start_uncertainty": 0.3, "end_uncertainty": 0.3}})
            if len(batch) >= 20_000:
                conn.execute(insert(Moment), batch)
                batch = []
        if batch:
            conn.execute(insert(Moment), batch)
    engine.dispose()
    return [r["id"] for r in rows]


def park(page: Any, pane: str, t: float) -> None:
    """Pause the pane's video at ``t`` and wait for that seek to end (so the next click's seek is
    the only one ``click_and_assert_seek`` sees)."""
    page.evaluate("""([pane, t]) => new Promise((resolve) => {
      const v = document.querySelector(`video.vqa-player[data-pane="${pane}"]`);
      v.pause();
      v.addEventListener('seeked', () => resolve(), {once: true});
      v.currentTime = t;
    })""", [pane, t])
