"""`videoqa serve` in embedded mode: the HTTP server answers and its in-process worker is alive
and ingests an upload to ready."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

from tests.factories.media import silent_video
from tests.factories.processes import kill_group, start_cli, videoqa_env, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local test server
            return json.loads(response.read())
    except OSError:
        return None


def test_serve_runs_the_api_and_an_embedded_worker(tmp_path: Path) -> None:
    port = _free_port()
    archive = tmp_path / "archive"
    archive.mkdir()
    video = silent_video(archive / "quiet.mp4", seconds=4)
    env = videoqa_env(data_dir=tmp_path / "data", web_port=port, archive_roots=archive, speech_model="off",
                      ocr="false", embed_model="off")
    server = start_cli(env, "serve", log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_until(lambda: (_get(f"{base}/healthz") or {}).get("workers") == 1 and _get(f"{base}/healthz"),
                            60, 0.5, "the server and its worker")
        assert health == {"status": "ok", "workers": 1}
        request = urllib.request.Request(f"{base}/api/v1/videos/register", method="POST",
                                         data=json.dumps({"path": str(video)}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            video_id = json.loads(response.read())["id"]
        ready = wait_until(lambda: (_get(f"{base}/api/v1/videos/{video_id}") or {}).get("status") == "ready",
                           90, 0.5, "the video to be ready")
        assert ready
    finally:
        kill_group(server, 15)
    assert "embedded worker" in (tmp_path / "serve.log").read_text()
