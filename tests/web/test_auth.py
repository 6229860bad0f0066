"""Login: with VIDEOQA_AUTH or VIDEOQA_AUTH_FILE set, every route of the server (the JSON API and every
route of the mounted Gradio app, each method) refuses a request without valid credentials; only
/healthz answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from video_qa.config import SettingsError, get_settings, load_settings
from video_qa.migrate import prepare_database
from web.server import OPEN_PATHS, create_app

PARAM = re.compile(r"\{[^}]+\}")


def every_route(app) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, concrete path) for each route, mounted apps included; parameters filled with '1'."""
    for route in app.routes:
        if isinstance(route, Mount):
            for method, path in every_route(route.app):
                yield method, (route.path.rstrip("/") + path) or "/"
            continue
        if hasattr(route, "original_router"):  # FastAPI's wrapper around an included router
            yield from every_route(route.original_router)
            continue
        path = PARAM.sub("1", getattr(route, "path", ""))
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                yield method, path


@pytest.fixture()
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    users = tmp_path / "users"
    users.write_text("# team\nbo:pw:with:colons\n\n")
    monkeypatch.setenv("VIDEOQA_AUTH", "ana:s3cret")
    monkeypatch.setenv("VIDEOQA_AUTH_FILE", str(users))
    get_settings.cache_clear()
    settings = get_settings()
    prepare_database(settings)
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_route_of_api_and_ui_refuses_without_credentials(guarded: TestClient) -> None:
    routes = sorted(set(every_route(guarded.app)))
    paths = {path for _, path in routes}
    # the walk reached both halves: the API and the Gradio app (its page, config, upload and queue)
    assert {"/api/v1/videos", "/api/v1/videos/1/media", "/api/v1/search"} <= paths
    assert {"/", "/config", "/gradio_api/upload", "/gradio_api/queue/join"} <= paths
    assert len(routes) > 40
    for method, path in routes:
        if path in OPEN_PATHS:
            continue
        for auth in (None, ("ana", "wrong"), ("nobody", "pw:with:colons")):
            response = guarded.request(method, path, auth=auth)
            assert response.status_code == 401, (method, path, auth, response.status_code)
            assert response.headers["www-authenticate"] == 'Basic realm="VideoQA"'
    assert guarded.get("/api/v1/videos", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
    assert guarded.get("/healthz").status_code == 200


def test_credentials_from_the_setting_and_the_file_are_accepted(guarded: TestClient) -> None:
    for auth in (("ana", "s3cret"), ("bo", "pw:with:colons")):
        assert guarded.get("/api/v1/videos", auth=auth).status_code == 200
        page = guarded.get("/", auth=auth)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert guarded.get("/config", auth=auth).status_code == 200


def test_a_bad_credentials_file_stops_the_start(tmp_path: Path) -> None:
    bad = tmp_path / "users"
    bad.write_text("ana:ok\njust-a-name\n")
    with pytest.raises(SettingsError, match="line 2"):
        load_settings(auth_file=bad)
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(auth_file=tmp_path / "missing")
