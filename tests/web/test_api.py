"""The JSON API: every endpoint, 404 for unknown ids, 422 for bad input, every route's response
documented by its model (and the models passing the services' JSON through unchanged), and an
OpenAPI-driven fuzz run (schemathesis) with no 5xx and every 2xx body as documented."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from model.vision.classify import FEATURES as POOLED_DIM
from tests.factories.media import ffmpeg, silent_video
from tests.factories.rows import make_clip, make_job, make_moment, make_video
from video_qa.analysis.visual.look import POOLED_FEATURES
from video_qa.config import get_settings
from video_qa.db import engine_for, unit_of_work
from video_qa.migrate import prepare_database
from video_qa.models import Moment, MomentEmbedding, Question, Video, WorkItem
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment, pack_embedding
from video_qa.services.similar import BUNDLED_TEXT_MODEL
from video_qa.services.videos import job_dict, list_videos, open_video, video_moments
from web.api import schemas
from web.server import create_app


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    archive = tmp_path / "archive"
    archive.mkdir()
    monkeypatch.setenv("VIDEOQA_ARCHIVE_ROOTS", str(archive))
    monkeypatch.setenv("VIDEOQA_UPLOAD_MAX_BYTES", str(2_000_000))
    get_settings.cache_clear()
    settings = get_settings()
    prepare_database(settings)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture()
def seeded(client: TestClient) -> int:
    """A ready video file on disk with a clip and moments."""
    settings = get_settings()
    path = silent_video(settings.archive_roots[0] / "harbour.mp4", seconds=3)
    stat = path.stat()
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        video = make_video(session, title="Harbour <b>cam</b>", path=str(path), status="ready", duration=3.0,
                           size=stat.st_size, file_mtime=stat.st_mtime)  # as ingest records them
        clip = make_clip(session, video, start=0.0, end=3.0)
        make_moment(session, video, clip, kind="speech", start=1.25, end=2.5, text="the crane lifts a container")
        make_moment(session, video, None, kind="chapter", start=0.0, end=3.0, text="Harbour")
        return video.id


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "workers": 0}


def test_videos_moments_job_search_export(client: TestClient, seeded: int) -> None:
    listed = client.get("/api/v1/videos").json()
    assert [(v["id"], v["title"], v["status"]) for v in listed] == [(seeded, "Harbour <b>cam</b>", "ready")]
    assert client.get(f"/api/v1/videos/{seeded}").json()["duration"] == 3.0
    speech = client.get(f"/api/v1/videos/{seeded}/moments", params={"kind": "speech"}).json()
    assert [(m["start"], m["end"], m["text"]) for m in speech] == [(1.25, 2.5, "the crane lifts a container")]
    job = client.get(f"/api/v1/videos/{seeded}/job").json()
    assert job["status"] == "ready" and "attempts" not in (job["job"] or {})
    hits = client.get("/api/v1/search", params={"q": "crane", "kind": "speech"}).json()
    assert hits[0]["video_id"] == seeded and hits[0]["start"] == 1.25
    assert hits[0]["text"] == "the crane lifts a container" and hits[0]["highlights"] == [[4, 9]]
    assert "marked" not in hits[0] and hits[0]["changed_on_disk"] is False
    hits = client.get("/api/v1/search", params={"q": "cranes lifting", "kind": "speech"}).json()
    assert [hits[0]["text"][s:e] for s, e in hits[0]["highlights"]] == ["crane", "lifts"]  # by stem
    described = client.get("/openapi.json").json()["components"]["schemas"]["SearchHit"]["properties"]["highlights"]
    assert "code points" in described["description"] and "half-open" in described["description"]
    vtt = client.get(f"/api/v1/videos/{seeded}/export/transcript.vtt")
    assert vtt.status_code == 200 and "00:00:01.250 --> 00:00:02.500" in vtt.text
    media = client.get(f"/api/v1/videos/{seeded}/media", headers={"Range": "bytes=0-9"})
    assert media.status_code == 206 and len(media.content) == 10
    thumb = client.get(f"/api/v1/videos/{seeded}/thumbnail", params={"t": 1.0})
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    answer = client.post(f"/api/v1/videos/{seeded}/ask", json={"question": "what does the crane lift?"}).json()
    assert answer["answer"].startswith("Extractive answer") and answer["moments"][0]["start"] == 1.25


def test_every_route_documents_its_response_with_a_model(client: TestClient) -> None:
    described = client.get("/openapi.json").json()
    components = described["components"]["schemas"]

    def model(schema: dict) -> str:  # type: ignore[type-arg]
        """The model a JSON schema names (itself or as the items of an array); an object with fields."""
        name = (schema["items"] if schema.get("type") == "array" else schema)["$ref"].rsplit("/", 1)[-1]
        assert components[name]["type"] == "object" and components[name]["properties"], name
        return name

    json_models, files = {}, {}
    for path, operations in described["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
            assert ok, route
            for response in ok.values():
                assert response.get("content"), route  # never an undocumented body
                for media_type, body in response["content"].items():
                    assert body.get("schema"), (route, media_type)
                    if media_type == "application/json":
                        json_models[route] = model(body["schema"])
                    else:
                        assert body["schema"]["type"] == "string", (route, media_type)
                        files.setdefault(route, set()).add(media_type)
    v = "/api/v1/videos"
    assert json_models == {
        "GET /healthz": "Health", f"GET {v}": "Video", f"POST {v}": "RegisteredVideo",
        f"GET {v}/{{video_id}}": "Video", f"POST {v}/register": "RegisteredVideo", f"POST {v}/{{video_id}}/ingest": "Video",
        f"GET {v}/{{video_id}}/job": "VideoJob", f"GET {v}/{{video_id}}/moments": "Moment",
        f"GET {v}/{{video_id}}/export/{{name}}": "MomentsExport", "GET /api/v1/search": "SearchHit",
        f"POST {v}/{{video_id}}/ask": "AskAnswer", "GET /api/v1/moments/{moment_id}/similar": "SimilarMoments",
        "POST /api/v1/similar": "SimilarMoments"}
    assert files == {f"GET {v}/{{video_id}}/export/{{name}}": {"text/vtt", "application/x-subrip"},
                     f"GET {v}/{{video_id}}/media": {"video/*"}, f"GET {v}/{{video_id}}/thumbnail": {"image/jpeg"}}


def test_the_models_pass_the_services_json_through_and_name_every_key(client: TestClient, seeded: int) -> None:
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        make_job(session, session.get(Video, seeded), status="done", stage="ready", message="analysed")
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        expected = {f"/api/v1/videos/{seeded}": open_video(session, seeded), "/api/v1/videos": list_videos(session),
                    f"/api/v1/videos/{seeded}/job": job_dict(session, seeded),
                    f"/api/v1/videos/{seeded}/moments": video_moments(session, seeded)}
    for path, value in expected.items():
        assert client.get(path).json() == value, path
    video = expected[f"/api/v1/videos/{seeded}"]
    moment = expected[f"/api/v1/videos/{seeded}/moments"][0]
    job = expected[f"/api/v1/videos/{seeded}/job"]
    (hit,) = client.get("/api/v1/search", params={"q": "crane", "kind": "speech"}).json()
    answer = client.post(f"/api/v1/videos/{seeded}/ask", json={"question": "what does the crane lift?"}).json()
    exported = client.get(f"/api/v1/videos/{seeded}/export/moments.json").json()
    named = [(video, schemas.Video), (moment, schemas.Moment), (job, schemas.VideoJob), (job["job"], schemas.Job),
             (hit, schemas.SearchHit), (answer, schemas.AskAnswer), (answer["moments"][0], schemas.AnswerMoment),
             (exported, schemas.MomentsExport), (exported["video"], schemas.ExportedVideo),
             (client.get("/healthz").json(), schemas.Health)]
    for value, model in named:
        assert list(value) == list(model.model_fields), model.__name__  # every key documented, in its order
    assert answer["moments"][0]["source"] == "cited"  # the extractive answer quotes the moment ...
    listed = [m["moment_id"] for m in answer["moments"]]
    assert len(listed) == len(set(listed))  # ... and lists it once


def _visual_moments(video_id: int, vectors: np.ndarray, model: str) -> list[int]:
    """Visual moments of the video, one a second, with these image vectors; their ids in order."""
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        replace_moments(session, video_id, None, 0, "visual", [
            NewMoment(float(i), float(i) + 1.0, "", {"keyframe": i + 0.5, "labels": [
                {"vocab": "imagenet", "label": "television", "score": 0.5}]}, None, vector, model)
            for i, vector in enumerate(vectors)])
        return list(session.scalars(select(Moment.id).where(Moment.video_id == video_id, Moment.kind == "visual")
                                    .order_by(Moment.start)))


def test_find_similar_by_moment_and_by_uploaded_image(client: TestClient, seeded: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4, POOLED_DIM)).astype(np.float32)
    vectors[2] = vectors[0] + 0.2 * vectors[2]  # the moment at 2 s looks like the one at 0 s
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = _visual_moments(seeded, vectors, POOLED_FEATURES)
    found = client.get(f"/api/v1/moments/{ids[0]}/similar", params={"limit": 2}).json()
    assert (found["moment_id"], found["space"], found["model"]) == (ids[0], "visual", POOLED_FEATURES)
    query = found["query"]  # the query moment itself: its video and own times
    assert (query["video_id"], query["title"], query["kind"], query["start"], query["end"]) == (
        seeded, "Harbour <b>cam</b>", "visual", 0.0, 1.0)
    assert [(h["moment_id"], h["start"], h["end"], h["keyframe"]) for h in found["hits"]][0] == (ids[2], 2.0, 3.0, 2.5)
    assert len(found["hits"]) == 1  # the unrelated random vectors (cosine ~0) fall under the similarity floor
    assert found["hits"][0]["score"] == pytest.approx(float(vectors[0] @ vectors[2]), abs=1e-5)
    assert list(found) == list(schemas.SimilarMoments.model_fields)
    assert list(found["hits"][0]) == list(schemas.SimilarHit.model_fields)
    assert client.get(f"/api/v1/moments/{ids[0]}/similar", params={"kind": "speech"}).json()["hits"] == []
    assert client.get("/api/v1/moments/999999/similar").status_code == 404
    chapter = client.get(f"/api/v1/videos/{seeded}/moments", params={"kind": "chapter"}).json()[0]["id"]
    response = client.get(f"/api/v1/moments/{chapter}/similar")  # no vector of any kind
    assert response.status_code == 422 and "no vector" in response.json()["detail"]
    speech = client.get(f"/api/v1/videos/{seeded}/moments", params={"kind": "speech"}).json()[0]["id"]
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:  # a text vector
        session.add(MomentEmbedding(moment_id=speech, embedding=pack_embedding(vectors[0, :384])))
    spoken = client.get(f"/api/v1/moments/{speech}/similar").json()  # the text space names its embedder
    assert (spoken["space"], spoken["model"], spoken["hits"]) == ("text", BUNDLED_TEXT_MODEL, [])
    png = tmp_path / "frame.png"
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=320x240", "-frames:v", "1", str(png))
    with png.open("rb") as handle:  # embedded by the classifier's pooled features (no image-text model here)
        by_image = client.post("/api/v1/similar", files={"file": ("frame.png", handle, "image/png")}).json()
    assert (by_image["moment_id"], by_image["space"], by_image["model"]) == (None, "visual", POOLED_FEATURES)
    # the bars' real features against random vectors: nothing is similar enough (the service's test
    # finds the bars shots first by image: tests/video_qa/services/test_similar.py)
    assert by_image["hits"] == []
    response = client.post("/api/v1/similar", files={"file": ("x.png", b"not a picture", "image/png")})
    assert response.status_code == 422 and "not an image" in response.json()["detail"]


def test_find_similar_by_image_says_which_setting_turns_it_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOQA_VISUAL_MODEL", "off")
    get_settings.cache_clear()
    settings = get_settings()
    prepare_database(settings)
    png = tmp_path / "frame.png"
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=64x48", "-frames:v", "1", str(png))
    with TestClient(create_app(settings)) as c:
        response = c.post("/api/v1/similar", files={"file": ("frame.png", png.read_bytes(), "image/png")})
    assert response.status_code == 409 and "VIDEOQA_VISUAL_MODEL" in response.json()["detail"]


def test_unknown_ids_are_404_and_bad_input_422(client: TestClient, seeded: int) -> None:
    for path in ("/api/v1/videos/999", "/api/v1/videos/999/moments", "/api/v1/videos/999/job",
                 "/api/v1/videos/999/export/moments.json", "/api/v1/videos/999/media", "/api/v1/videos/999/thumbnail"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["detail"] == "no video 999", path
    assert client.post("/api/v1/videos/999/ask", json={"question": "x"}).status_code == 404
    assert client.get("/api/v1/videos/abc").status_code == 422
    assert client.get("/api/v1/search", params={"q": ""}).status_code == 422
    assert client.get("/api/v1/search", params={"q": "x", "kind": "nonsense"}).status_code == 422
    assert client.get(f"/api/v1/videos/{seeded}/export/x.doc").status_code == 422
    assert client.post(f"/api/v1/videos/{seeded}/ask", json={"question": ""}).status_code == 422


def test_upload_register_and_refusals(client: TestClient, tmp_path: Path) -> None:
    settings = get_settings()
    video = silent_video(tmp_path / "clip.mp4", seconds=2)
    with video.open("rb") as handle:
        created = client.post("/api/v1/videos", files={"file": ("../../etc/My clip.mp4", handle, "video/mp4")})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "My clip" and body["status"] == "processing" and not body["duplicate"]
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        stored = Path(session.get(Video, body["id"]).path)
        assert stored.parent == settings.resolved_media_dir and stored.read_bytes() == video.read_bytes()
        assert session.scalars(select(WorkItem.part).where(WorkItem.video_id == body["id"])).all() == ["ingest"]
    with video.open("rb") as handle:
        again = client.post("/api/v1/videos", files={"file": ("copy.mp4", handle, "video/mp4")}).json()
    assert again["id"] == body["id"] and again["duplicate"]
    assert len(list(settings.resolved_media_dir.iterdir())) == 1
    big = client.post("/api/v1/videos", files={"file": ("big.mp4", b"\0" * 2_000_001, "video/mp4")})
    assert big.status_code == 413 and "big.mp4" in big.json()["detail"]
    assert client.post("/api/v1/videos", files={"file": ("empty.mp4", b"", "video/mp4")}).status_code == 422
    text = client.post("/api/v1/videos", files={"file": ("notes.mp4", b"meeting notes\n" * 100, "video/mp4")})
    assert text.status_code == 422 and text.json()["detail"].startswith("notes.mp4: not a media file")
    tone = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(tone))
    audio = client.post("/api/v1/videos", files={"file": ("tone.m4a", tone.read_bytes(), "audio/mp4")})
    assert audio.status_code == 422 and audio.json()["detail"] == "tone.m4a: no video stream (audio only)"
    assert len(list(settings.resolved_media_dir.iterdir())) == 1  # refused uploads leave nothing behind
    inside = silent_video(settings.archive_roots[0] / "in.mp4", seconds=2)
    assert client.post("/api/v1/videos/register", json={"path": str(inside)}).status_code == 201
    outside = client.post("/api/v1/videos/register", json={"path": str(video)})
    # the client learns what to do, and nothing of the server's folders but the path it sent
    assert outside.status_code == 403
    assert outside.json()["detail"] == f"{video}: outside the archive roots; add its folder to VIDEOQA_ARCHIVE_ROOTS"
    traversal = client.post("/api/v1/videos/register", json={"path": str(settings.archive_roots[0] / ".." / "clip.mp4")})
    assert traversal.status_code == 403
    assert client.post(f"/api/v1/videos/{body['id']}/ingest").status_code == 202


def test_a_file_changed_on_disk_after_analysis_is_said_and_can_be_analysed_again(client: TestClient, seeded: int) -> None:
    path = get_settings().archive_roots[0] / "harbour.mp4"
    analysed = path.stat()

    def changed() -> tuple[bool, bool]:
        video = client.get(f"/api/v1/videos/{seeded}").json()
        hit, = client.get("/api/v1/search", params={"q": "crane", "kind": "speech"}).json()
        return video["changed_on_disk"], hit["changed_on_disk"]

    assert changed() == (False, False)
    assert client.get("/api/v1/videos").json()[0]["changed_on_disk"] is None  # the list does not stat every file
    os.utime(path, (analysed.st_atime, analysed.st_mtime + 60))  # same bytes, written again later
    assert changed() == (True, True)
    os.utime(path, (analysed.st_atime, analysed.st_mtime))
    assert changed() == (False, False)
    with path.open("ab") as handle:  # longer, with the old modification time
        handle.write(b"\0" * 100)
    os.utime(path, (analysed.st_atime, analysed.st_mtime))
    assert changed() == (True, True)
    again = client.post(f"/api/v1/videos/{seeded}/ingest")
    assert again.status_code == 202 and again.json()["status"] == "ready"  # queued; shown until redone


def test_media_outside_the_allowed_folders_is_not_served(client: TestClient, tmp_path: Path) -> None:
    settings = get_settings()
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not yours")
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        video_id = make_video(session, path=str(secret)).id
    assert client.get(f"/api/v1/videos/{video_id}/media").status_code == 403


def test_openapi_fuzz_finds_no_server_error(client: TestClient, seeded: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import response_schema_conformance

    client.get("/api/v1/search", params={"q": "warm"})  # loads the embedder once, before the timed calls
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    calls: list[int] = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        if op.path.endswith("/ask") or op.method.upper() == "POST" and op.path == "/api/v1/videos":
            continue  # ask runs models; uploads are covered above with real files

        @hsettings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call()
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {response.status_code} {response.text[:200]}")
            elif response.status_code < 300:  # the body is what the route's model documents
                try:
                    case.validate_response(response, checks=[response_schema_conformance])
                except FailureGroup as error:
                    failures.append(f"{op.method.upper()} {op.path}: {error.exceptions[0]!s:.300}")

        check()
    assert failures == []
    assert len(calls) > 100 and any(code == 200 for code in calls)  # it really exercised the API


def test_asking_about_a_failed_video_says_it_failed_and_stores_no_question(client: TestClient, seeded: int) -> None:
    """The JSON API answers what videoqa ask and the web app say (VideoFailed.nothing_to), 409,
    instead of 'no moment matches'; no question is stored."""
    settings = get_settings()
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        video = session.get(Video, seeded)
        assert video is not None
        video.status, video.error = "failed", "harbour.mp4: not a complete video file"
    answer = client.post(f"/api/v1/videos/{seeded}/ask", json={"question": "what does the crane lift?"})
    assert answer.status_code == 409
    assert answer.json()["detail"] == (f"video {seeded} failed, so it has nothing to ask about: "
                                       "harbour.mp4: not a complete video file")
    with unit_of_work(engine_for(settings.resolved_database_url)) as session:
        assert session.scalar(select(func.count()).select_from(Question)) == 0
