"""Hostile requests against the running server: path traversal in registration and in media serving,
a non-video upload, an oversized upload, missing credentials, malicious file names. Each is refused
with the right status, or (file names) stored safely inside the media folder."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import update

from tests.reliability.conftest import UPLOAD_LIMIT, Stack, variant
from video_qa.db import unit_of_work
from video_qa.models import Video


def _media_files(stack: Stack) -> set[str]:
    return {p.name for p in (stack.root / "data" / "media").iterdir()}


def test_registration_outside_the_archive_is_refused(stack: Stack, talk: Path) -> None:
    archive = stack.root / "archive"
    link = archive / "sneaky.mp4"
    if not link.exists():
        os.symlink("/etc/passwd", link)
    for path, expected in ((f"{archive}/../../../etc/passwd", 403), ("/etc/hostname", 403), (str(link), 403),
                           (str(talk), 403),  # a real video, but outside the archive roots
                           ("relative/../../etc/passwd", 403), ("/archive\x00/x.mp4", 422)):
        status, body = stack.post_json("/api/v1/videos/register", {"path": path})
        assert status == expected, (path, status, body)


def test_media_is_never_served_from_outside_the_allowed_folders(stack: Stack, talk: Path) -> None:
    status, body = stack.upload(variant(talk, stack.root, "moved-out").read_bytes(), "moved-out.mp4")
    assert status == 201
    video_id = body["id"]
    assert stack.get(f"/api/v1/videos/{video_id}/media")[0] == 200
    with unit_of_work(stack.engine) as session:  # a row that points outside (an edited database)
        session.execute(update(Video).where(Video.id == video_id).values(path="/etc/passwd"))
    assert stack.get(f"/api/v1/videos/{video_id}/media")[0] == 403
    assert stack.get(f"/api/v1/videos/{video_id}/thumbnail?t=1")[0] == 403
    for path in ("/api/v1/videos/..%2F..%2Fetc%2Fpasswd/media", "/api/v1/videos/1%2F..%2F..%2Fetc/media",
                 "/gradio_api/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd", "/file=/etc/passwd"):
        status, body = stack.get(path)
        assert status in (403, 404, 422), (path, status)
        assert b"root:" not in (body if isinstance(body, bytes) else str(body).encode())


def test_uploads_that_are_not_videos_or_too_large_are_refused_and_leave_nothing(stack: Stack) -> None:
    before = _media_files(stack)
    status, body = stack.upload(b"#!/bin/sh\nrm -rf /\n", "payload.sh.mp4")
    assert status == 422 and body["detail"].startswith("payload.sh.mp4: not a media file")
    status, body = stack.upload(b"\0" * (UPLOAD_LIMIT + 1), "huge.mp4")
    assert status == 413 and "huge.mp4" in body["detail"]
    assert _media_files(stack) == before


def test_without_credentials_everything_but_health_is_refused(stack: Stack) -> None:
    for method, path in (("GET", "/"), ("GET", "/config"), ("GET", "/api/v1/videos"), ("GET", "/api/v1/search?q=x"),
                         ("POST", "/api/v1/videos"), ("POST", "/gradio_api/upload"), ("GET", "/openapi.json"),
                         ("GET", "/api/v1/videos/1/media")):
        status, _ = stack.request(method, path, auth=False)
        assert status == 401, (method, path, status)
    status, _ = stack.request("GET", "/api/v1/videos", headers={"Authorization": "Basic b3BzOndyb25n"}, auth=False)
    assert status == 401  # ops:wrong
    assert stack.get("/healthz", auth=False)[0] == 200


def test_malicious_file_names_are_stored_safely_and_shown_as_typed(stack: Stack, talk: Path) -> None:
    media = (stack.root / "data" / "media").resolve()
    names = ["../../etc/evil.mp4", "..\\..\\windows\\evil.mp4", 'a"b<script>c.mp4', "x" * 300 + ".mp4",
             ".hidden.mp4", "CON.mp4", "naïve ☃ name.MP4"]
    for i, name in enumerate(names):
        status, body = stack.upload(variant(talk, stack.root, f"name{i}").read_bytes(), name)
        assert status == 201, (name, status, body)
        with unit_of_work(stack.engine) as session:
            stored = Path(session.get(Video, body["id"]).path)
        assert stored.parent == media and stored.is_file(), (name, stored)
        assert all(c.isalnum() or c in "._-" for c in stored.name), stored.name
        assert len(stored.name) < 130
        assert "/" not in body["title"] and body["title"]  # the base name's stem, as typed
    assert stack.video(body["id"])["title"] == "naïve ☃ name"
