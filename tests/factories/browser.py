"""A real `videoqa serve` and Debian's Chromium driven by Playwright (no browser download), plus the
checks the UI tests share: that a click seeks the pane's <video> and that it plays."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from tests.factories.processes import REPO, multipart_file

CHROMIUM = "/usr/bin/chromium"
# as root in a closed network: no sandbox, no GPU, nothing that phones home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("VIDEOQA_TEST_ARTIFACTS", REPO / "test-artifacts"))
SEEK_TOLERANCE = 0.5


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


def click_and_assert_seek(page: Any, button: Any, pane: str) -> float:
    """Click a moment button; the pane's video must land within SEEK_TOLERANCE of the button's time
    (read at the `seeked` event) and then play on from there. Returns the time it landed on."""
    t = float(button.get_attribute("data-t"))
    video_id = button.get_attribute("data-video")
    page.evaluate(_HOOK, pane)
    button.click()
    page.wait_for_function("pane => window.__seeks.some(s => s[0] === pane)", arg=pane, timeout=20_000)
    landed = page.evaluate("pane => window.__seeks.filter(s => s[0] === pane).pop()[1]", pane)
    assert abs(landed - t) <= SEEK_TOLERANCE, (landed, t)
    selector = f'video.vqa-player[data-pane="{pane}"]'
    page.wait_for_function(
        "([sel, from]) => { const v = document.querySelector(sel); return !v.paused && v.currentTime > from + 0.2; }",
        arg=[selector, landed], timeout=20_000)
    state = page.evaluate("sel => { const v = document.querySelector(sel); return [v.dataset.video, v.paused, "
                          "v.currentSrc]; }", selector)
    assert state[0] == video_id and state[1] is False and state[2].endswith(f"/api/v1/videos/{video_id}/media"), state
    return landed
