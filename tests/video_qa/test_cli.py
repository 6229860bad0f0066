from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories.media import ENCODERS, ffmpeg
from tests.factories.rows import make_video
from video_qa.config import get_settings
from video_qa.db import engine_for, unit_of_work
from video_qa.analysis.plan import probe_and_plan
from videoqa_cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_commands_without_loading_the_heavy_layers() -> None:
    out = subprocess.run([sys.executable, "-m", "videoqa_cli", "--help"], capture_output=True, text=True, check=True,
                         cwd=REPO)
    assert "migrate" in out.stdout and "videos" in out.stdout and "serve" in out.stdout
    loaded = subprocess.run([sys.executable, "-c", "import sys, videoqa_cli.main; print(sorted(sys.modules))"],
                            capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert "'celery'" not in loaded and "'web'" not in loaded and "'torch'" not in loaded


def test_migrate_then_videos_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        make_video(session, title="Harbour cam", duration=3723.45)
    capsys.readouterr()
    assert main(["videos", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["title"], r["duration"], r["status"]) for r in rows] == [("Harbour cam", 3723.45, "pending")]
    assert main(["videos"]) == 0
    assert "1:02:03 " in capsys.readouterr().out  # as the web app shows it (whole seconds)


def test_migrate_wait_gives_up_on_an_absent_database_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    get_settings.cache_clear()
    started = time.monotonic()
    assert main(["migrate", "--wait", "2"]) == 1
    assert time.monotonic() - started >= 2  # it waited before giving up
    assert "the database does not answer" in capsys.readouterr().err


def test_bad_setting_exits_with_named_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VIDEOQA_WEB_PORT", "0")
    assert main(["videos"]) == 2
    assert "VIDEOQA_WEB_PORT" in capsys.readouterr().err


def test_server_database_not_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", f"sqlite:///{tmp_path / 'server.db'}")
    assert main(["videos"]) == 1
    assert "videoqa migrate" in capsys.readouterr().err


def test_probe_and_plan_commands(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.media import index_video

    path = index_video(tmp_path / "clip.mp4", seconds=4)
    assert main(["probe", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"], info["duration"]) == (320, 180, 4.0)
    assert main(["plan", str(path), "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    _, by_ingest = probe_and_plan(path, get_settings())  # the sampling policy itself is tested in media
    assert [(c["start"], c["end"]) for c in clips] == [(0.0, 4.0)]
    assert [(c["fps"], c["frames"]) for c in clips] == [(c.fps, c.frames) for c in by_ingest]
    assert clips[0]["frames"] == round(4.0 * clips[0]["fps"])


def test_probe_bad_file_names_it(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["probe", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "not a media file" in err


def test_describe_with_the_tiny_model_says_so(tmp_path, monkeypatch, capsys, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.media import index_video

    path = index_video(tmp_path / "clip.mp4", seconds=6)
    monkeypatch.setenv("VIDEOQA_VLM_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("VIDEOQA_VLM_MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("VIDEOQA_DEVICE", "cpu")
    assert main(["describe", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["test_model"] is True and "test model" in out["model"]
    assert "meaningless" in captured.err
    _, by_ingest = probe_and_plan(path, get_settings())
    assert (out["clip"]["start"], out["clip"]["end"], out["clip"]["fps"]) == (0.0, 6.0, by_ingest[0].fps)
    assert all(0.0 <= e["start"] <= e["end"] <= 6.0 for e in out["events"])


def test_describe_without_a_model_names_the_setting(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["describe", str(tmp_path / "x.mp4")]) == 2
    assert "VIDEOQA_VLM_MODEL" in capsys.readouterr().err


def still_then_busy(path: Path) -> Path:
    """8 s: a still grey picture for 4 s (almost no bits), then a moving test pattern for 4 s."""
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=320x180:r=25:d=4", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=4",
           "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", *ENCODERS["h264"], str(path))
    return path


def test_plan_and_describe_choose_the_plan_ingest_makes(tmp_path, monkeypatch, capsys, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from video_qa.media import plan, probe

    path = still_then_busy(tmp_path / "still then busy.mp4")
    monkeypatch.setenv("VIDEOQA_CLIP_SECONDS", "4")
    monkeypatch.setenv("VIDEOQA_VLM_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("VIDEOQA_VLM_MAX_NEW_TOKENS", "4")
    monkeypatch.setenv("VIDEOQA_DEVICE", "cpu")
    get_settings.cache_clear()
    settings = get_settings()
    _, by_ingest = probe_and_plan(path, settings)  # what the ingest runner plans with
    ingest_clip0 = json.loads(json.dumps(by_ingest[0].to_dict()))
    assert main(["plan", str(path), "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert main(["describe", str(path), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)["clip"]
    assert planned[0] == ingest_clip0 and described == ingest_clip0
    assert (described["start"], described["end"]) == (0.0, 4.0)
    # the activity measure decides for this video: planned without it, the still clip 0 is sampled faster
    assert described["fps"] < plan(probe(path), settings)[0].fps


def test_ingest_without_wait_says_when_no_worker_will_take_it(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.media import silent_video

    videos = tmp_path / "videos"
    videos.mkdir()
    silent_video(videos / "quiet.mp4", seconds=2)
    monkeypatch.setenv("VIDEOQA_ARCHIVE_ROOTS", str(videos))
    get_settings.cache_clear()
    assert main(["ingest", str(videos)]) == 0
    out = capsys.readouterr()
    assert "no worker is running" in out.err and "--wait" in out.err
    assert "processing" in out.out and "quiet.mp4" in out.out


# Runs the CLI as the console script does (main(), in a new process) and reports what it printed
# and which packages it imported.
CLI_SNIPPET = """
import contextlib, io, json, sys
from videoqa_cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""
HEAVY_PACKAGES = ("torch", "transformers", "sentence_transformers", "gradio", "celery", "faster_whisper", "rapidocr",
                  "web", "workers")


def run_cli_process(*argv: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOQA_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", CLI_SNIPPET, *argv], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_search_needs_no_pytorch_once_the_query_model_is_exported(caplog: pytest.LogCaptureFixture,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from model.embeddings import store
    from model.embeddings.factory import heavy_embedder
    from tests.factories.moments import EVAL_VIDEOS, write_moments
    from video_qa.analyzers import embed_source
    from video_qa.search import Filters
    from video_qa.services.videos import search_hits
    from videoqa_cli.commands.library import HIT_FIELDS
    from videoqa_cli.commands.workers import export_query_model_meanwhile

    settings = get_settings()
    assert main(["migrate"]) == 0
    engine = engine_for(settings.resolved_database_url)
    heavy = heavy_embedder(embed_source(settings).location, settings.device)
    with unit_of_work(engine) as session:
        for name in ("finance", "harbour", "cooking"):
            write_moments(session, make_video(session, title=name, status="ready"), EVAL_VIDEOS[name], heavy)

    class PyTorchOnly:
        def encode_query(self, text: str):  # type: ignore[no-untyped-def]
            return heavy.encode([text])[0]

    def fields(hits: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
        return [tuple(h[k] if k != "score" else round(h[k], 5) for k in HIT_FIELDS if k != "changed_on_disk")
                for h in hits]

    query = "when was the marketing budget approved"
    with unit_of_work(engine) as session:
        expected = fields(search_hits(session, engine, query, PyTorchOnly(), Filters(), 20))
    assert expected and "marketing budget" in expected[0][HIT_FIELDS.index("text")]

    capsys.readouterr()
    monkeypatch.setattr(store, "_known_exports", {})  # no export of this process to link: the child runs
    assert main(["search", query, "--json", "--verbose"]) == 0  # no export yet: a child process makes it first
    assert fields(json.loads(capsys.readouterr().out)) == expected
    assert "by a child process in" in caplog.text
    assert export_query_model_meanwhile(settings) is None  # `serve` finds nothing to do

    searched = run_cli_process("search", query, "--json")
    assert fields(json.loads(searched["out"])) == expected
    assert [m for m in HEAVY_PACKAGES if m in searched["modules"]] == []
    assert "onnxruntime" in searched["modules"]
    listed = run_cli_process("videos", "--json")
    assert sorted(v["title"] for v in json.loads(listed["out"])) == ["cooking", "finance", "harbour"]
    assert [m for m in HEAVY_PACKAGES + ("onnxruntime",) if m in listed["modules"]] == []

    # as a user types it (VIDEOQA_LOG_LEVEL unset): the answer alone; the embedder's load note with --verbose
    env = {k: v for k, v in os.environ.items() if k != "VIDEOQA_LOG_LEVEL"}
    quiet, verbose = (subprocess.run([sys.executable, "-m", "videoqa_cli", "search", query, *extra], env=env, cwd=REPO,
                                     capture_output=True, text=True, check=True) for extra in ((), ("--verbose",)))
    assert quiet.stderr == "", quiet.stderr
    assert quiet.stdout == verbose.stdout and "marketing budget" in quiet.stdout.splitlines()[0]
    assert "INFO model.embeddings.factory text embeddings: ONNX Runtime" in verbose.stderr, verbose.stderr

    assert main(["models", "--export-query"]) == 0  # found and checked, not made again
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("search queries"))
    assert "  uses: ONNX Runtime, export in" in line


def test_models_says_how_queries_are_embedded_before_any_export(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("search queries"))
    assert "PyTorch until exported (no export in" in line and "--export-query" in line
    assert main(["models", "--json"]) == 0
    rows = {r["role"]: r for r in json.loads(capsys.readouterr().out)}
    assert "PyTorch until exported" in rows["search queries"]["used"]


def _column_starts(out: str, rows: list) -> list[tuple[int, ...]]:  # type: ignore[type-arg]
    """Per printed line: where its setting, its state and its 'uses:' start (-1 for the queries' blank state)."""
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines] == [r.role for r in rows] + ["search queries"]
    starts = []
    for line, row in zip(lines, [*rows, None]):
        setting = f"{row.setting}={row.value!r}" if row else "VIDEOQA_EMBED_MODEL="
        state = ("available offline" if row.available else "NOT AVAILABLE") if row else None
        starts.append((line.index(setting), line.index(state) if state else -1, line.index("  uses: ") + 2))
    return starts


@pytest.mark.parametrize("rows", ["configured", "long and unavailable"])
def test_models_prints_each_column_at_one_offset_on_every_line(rows: str, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from video_qa import analyzers
    from video_qa.analyzers import BackendRow, describe_backends
    from videoqa_cli.commands.media import cmd_models

    settings = get_settings()
    backends = describe_backends(settings)
    if rows == "long and unavailable":
        backends = [BackendRow("vision-language", "VIDEOQA_VLM_MODEL", "", "", True, "none (off)"),
                    BackendRow("a very long role name, longer than all", "X", "v", "", False, "gone"),
                    BackendRow("speech", "VIDEOQA_SPEECH_MODEL", "/a/very/long/local/model/folder", "", True, "/x")]
        monkeypatch.setattr(analyzers, "describe_backends", lambda _: backends)
    rc = cmd_models(settings, argparse.Namespace(json=False, export_query=False))
    assert rc == (1 if rows == "long and unavailable" else 0)  # the unavailable row fails the command
    out = capsys.readouterr().out
    starts = _column_starts(out, backends)
    role = max(len(r.role) for r in backends) + 2  # the widest cell and two spaces
    setting = role + max(len(f"{r.setting}={r.value!r}") for r in backends) + 2
    uses = setting + len("available offline") + 2
    assert starts == [(role, setting, uses)] * len(backends) + [(role, -1, uses)]
    if rows == "long and unavailable":
        assert (role, setting, uses) == (40, 40 + 54 + 2, 96 + 19)
        assert out.splitlines()[1][setting:uses] == "NOT AVAILABLE".ljust(19)


def test_serve_exports_the_query_model_in_a_background_thread() -> None:
    from model.embeddings.folder import check_export, export_folder
    from video_qa.analyzers import embed_source
    from video_qa.config import load_settings
    from videoqa_cli.commands.workers import export_query_model_meanwhile

    settings = get_settings()
    location = embed_source(settings).location
    assert check_export(export_folder(settings.models_dir, location), location) is not None
    thread = export_query_model_meanwhile(settings)
    assert thread is not None and thread.daemon
    thread.join(timeout=300)
    assert check_export(export_folder(settings.models_dir, location), location) is None
    assert export_query_model_meanwhile(settings) is None  # nothing left to do
    assert export_query_model_meanwhile(load_settings(embed_model="off")) is None


def test_a_hit_is_shown_with_its_highlights_in_bold_on_a_terminal_only() -> None:
    from videoqa_cli.commands.library import shown

    text = "see [appendix] and the Appendix"
    assert shown(text, [[5, 13], [23, 31]], terminal=True) == \
        "see [\x1b[1mappendix\x1b[0m] and the \x1b[1mAppendix\x1b[0m"
    assert shown(text, [[5, 13]], terminal=False) == text


def test_search_prints_each_hit_in_the_web_s_time_format(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """One time format on every screen: start–end with ``±N s`` where the time is known only that
    closely (video_qa.timecode.clock_span), not tenths that claim more than is known."""
    from videoqa_cli.commands import library

    hit = {"video_id": 3, "title": "deck", "start": 40.0, "end": 48.0, "start_uncertainty": 2.0,
           "end_uncertainty": 1.0, "kind": "text", "text": "see [appendix]", "highlights": [[5, 13]],
           "changed_on_disk": False, "score": 1.0}
    monkeypatch.setattr(library, "prepare_database", lambda settings: None)
    monkeypatch.setattr("video_qa.services.videos.search_hits", lambda *a, **k: [hit])
    monkeypatch.setattr("video_qa.analyzers.get_embedder", lambda settings: None)
    monkeypatch.setattr(library, "unit_of_work", lambda engine: contextlib.nullcontext(None))
    assert main(["search", "appendix"]) == 0
    line = capsys.readouterr().out.strip()
    assert "0:00:40–0:00:48\u00a0±2\u00a0s" in line and line.endswith("deck: see [appendix]")


def test_videos_lists_newest_first_in_the_web_s_format_with_each_failure_s_reason(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The order and the duration format of the web app's library; a failed video says why."""
    assert main(["migrate"]) == 0
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        make_video(session, title="Harbour cam", duration=3723.45, status="ready")
        make_video(session, title="broken", duration=None, status="failed",
                   error="broken.mp4: not a complete video file (the end is missing); re-upload or re-download it")
    capsys.readouterr()
    assert main(["videos"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[1:3] == ["failed", "-"] and lines[0].endswith("broken")
    assert lines[1].strip() == ("reason: broken.mp4: not a complete video file (the end is missing); "
                                "re-upload or re-download it")
    assert lines[2].split()[1:] == ["ready", "1:02:03", "Harbour", "cam"]
    assert len(lines) == 3


# --- what a new user hits in the CLI (issue 29, point 10), on SQLite and PostgreSQL


@pytest.fixture()
def cli_database(engine, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The CLI on a migrated database of each kind (the ``engine`` fixture's), full-text search only."""
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VIDEOQA_EMBED_MODEL", "off")
    get_settings.cache_clear()
    return engine


def test_alembic_says_nothing_but_in_migrate(tmp_path: Path) -> None:
    """At the default log level: ``migrate`` reports its upgrades, other commands are quiet."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOQA_DATA_DIR": str(tmp_path / "quiet")}
    env.pop("VIDEOQA_LOG_LEVEL", None)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "videoqa_cli", *argv], capture_output=True, text=True, env=env,
                              cwd=REPO, check=True)

    migrated = cli("migrate")
    assert "Running upgrade  -> 0001_initial" in migrated.stderr
    listed = cli("videos")
    assert listed.stdout == "no videos\n"
    assert "alembic" not in listed.stderr and "Context impl" not in listed.stderr, listed.stderr


def test_search_in_an_unknown_video_says_so_and_fails(cli_database, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(cli_database) as session:
        known = make_video(session, title="harbour", status="ready").id
    capsys.readouterr()
    assert main(["search", "crane", "--video", "999"]) == 1
    out = capsys.readouterr()
    assert out.err.strip() == "error: no video 999" and out.out == ""
    assert main(["search", "crane", "--video", str(known)]) == 0  # a known video without a match: no error
    assert capsys.readouterr().out.strip() == "no matching moments"


def test_search_json_names_each_hit_s_moments_and_kinds(cli_database, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.rows import make_clip, make_moment

    with unit_of_work(cli_database) as session:
        video = make_video(session, title="harbour", status="ready")
        clip = make_clip(session, video, start=0.0, end=60.0)
        said = make_moment(session, video, clip, kind="speech", start=4.0, end=6.0, text="the crane lifts a box").id
    capsys.readouterr()
    assert main(["search", "crane", "--json"]) == 0
    hit, = json.loads(capsys.readouterr().out)
    assert (hit["moment_ids"], hit["kinds"], hit["kind"], hit["start"]) == ([said], ["speech"], "speech", 4.0)


REASON = "broken.mp4: not a complete video file (the end is missing); re-upload or re-download it"


@pytest.mark.parametrize(("argv", "verb"), [(["ask", "{id}", "what is shown?"], "ask about"),
                                            (["export", "{id}", "transcript.vtt"], "export"),
                                            (["export", "{id}", "moments.json"], "export")])
def test_ask_and_export_on_a_failed_video_say_why_and_fail(cli_database, capsys, argv, verb) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(cli_database) as session:
        failed = make_video(session, title="broken", status="failed", duration=None, error=REASON).id
    capsys.readouterr()
    assert main([a.format(id=failed) for a in argv]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.strip() == f"error: video {failed} failed, so it has nothing to {verb}: {REASON}"


def test_serve_keeps_the_web_app_s_polling_out_of_the_access_log(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The page polls (Gradio's queue and heartbeat routes) every second while a video is analysed:
    those requests are not logged; the API's requests are."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from web.server import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seen: dict[str, int] = {}

    def run_briefly(app, **kwargs) -> None:  # type: ignore[no-untyped-def]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            seen["join"] = client.post("/gradio_api/queue/join", json={}).status_code
            with client.stream("GET", "/gradio_api/heartbeat/abc") as beat:
                seen["heartbeat"] = beat.status_code
            seen["videos"] = client.get("/api/v1/videos").status_code
            seen["healthz"] = client.get("/healthz").status_code
        server.should_exit = True
        thread.join(timeout=30)

    monkeypatch.setattr(uvicorn, "run", run_briefly)
    assert main(["migrate"]) == 0
    with caplog.at_level("INFO", logger="uvicorn.access"):
        serve(get_settings())
    assert (seen["videos"], seen["healthz"]) == (200, 200) and seen["join"] >= 400 and seen["heartbeat"] == 200
    logged = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any('"GET /api/v1/videos HTTP/1.1" 200' in line for line in logged), logged
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in logged), logged
    assert not [line for line in logged if "/gradio_api/" in line], logged


def test_videos_and_probe_say_when_a_file_is_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.factories.media import index_video

    whole = index_video(tmp_path / "whole.mp4", rate="25", seconds=20, gop=25, extra=("-movflags", "+faststart"))
    cut = tmp_path / "download.mp4"
    with cut.open("wb") as out:
        subprocess.run(["head", "-c", str(whole.stat().st_size // 2), str(whole)], stdout=out, check=True)
    assert main(["probe", str(cut), "--json"]) == 0
    probed = json.loads(capsys.readouterr().out)
    assert probed["claimed_duration"] == pytest.approx(20.0, abs=0.05) and 4.0 < probed["duration"] < 16.0
    assert main(["probe", str(cut)]) == 0
    readable = f"{round(probed['duration'], 1):g}"
    assert capsys.readouterr().out.rstrip().endswith(f"; truncated: {readable} s of 20 s readable")
    assert main(["migrate"]) == 0
    with unit_of_work(engine_for(get_settings().resolved_database_url)) as session:
        make_video(session, title="download", status="ready", duration=probed["duration"], probe=probed)
    capsys.readouterr()
    assert main(["videos"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[1] == "ready" and listed[1].strip() == f"truncated: {readable} s of 20 s readable"


def test_ingest_of_a_broken_file_lists_it_failed_with_the_one_reason_and_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The same outcome as the web app's and the API's upload: a failed video, nothing queued,
    the reason in the user's words naming the file; ffprobe's words are not shown."""
    from tests.factories.media import silent_video

    videos = tmp_path / "videos"
    videos.mkdir()
    whole = silent_video(tmp_path / "whole.mp4", seconds=4)
    (videos / "holiday.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    monkeypatch.setenv("VIDEOQA_ARCHIVE_ROOTS", str(videos))
    get_settings.cache_clear()
    assert main(["ingest", str(videos)]) == 1
    out = capsys.readouterr()
    reason = "holiday.mp4: not a complete video file (the end is missing); re-upload or re-download it"
    assert out.out.splitlines()[0].split()[1] == "failed" and out.out.splitlines()[1].strip() == f"reason: {reason}"
    assert "no worker is running" not in out.err and "moov" not in out.out  # ffprobe's words: in the log only
    assert main(["videos", "--json"]) == 0
    row, = json.loads(capsys.readouterr().out)
    assert (row["status"], row["error"]) == ("failed", reason)


def test_ingest_wait_of_a_truncated_file_says_how_much_was_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The last line of ``ingest --wait`` says what ``videoqa videos`` says of a truncated file
    (issue 28): ready, and only part of it readable."""
    from tests.factories.media import index_video

    videos = tmp_path / "videos"
    videos.mkdir()
    whole = index_video(tmp_path / "whole.mp4", rate="25", seconds=8, gop=25, extra=("-movflags", "+faststart"))
    cut = videos / "half_download.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for name, value in {"ARCHIVE_ROOTS": str(videos), "SPEECH_MODEL": "off", "OCR": "false", "EMBED_MODEL": "off",
                        "VISUAL_MODEL": "off", "LABELS": "off"}.items():
        monkeypatch.setenv(f"VIDEOQA_{name}", value)
    get_settings.cache_clear()
    assert main(["ingest", str(cut), "--wait"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert main(["videos", "--json"]) == 0
    video, = json.loads(capsys.readouterr().out)
    readable = f"{round(video['duration'], 1):g}"
    assert video["truncated"] and 1.0 < video["duration"] < 7.0
    assert lines[-2].split() == [str(video["id"]), "ready", str(cut)]
    assert lines[-1].strip() == f"truncated: {readable} s of 8 s readable" == video["notice"]
    assert main(["ingest", str(cut), "--json"]) == 0  # already registered: the same notice in the JSON
    row, = json.loads(capsys.readouterr().out)
    assert (row["status"], row["notice"], row["duplicate"]) == ("ready", video["notice"], True)


@pytest.mark.parametrize(("argv", "status"), [(["videos", "--json"], 141), (["videos"], 141), (["--help"], 0),
                                              (["search", "--help"], 0)])
def test_output_into_a_reader_that_closed_ends_quietly(argv: list[str], status: int, tmp_path: Path) -> None:
    """``videoqa ... | head``: the reader closes early, the CLI stops with the documented status
    (141, as if ended by SIGPIPE; help: argparse's 0) and no traceback (issue 28)."""
    from videoqa_cli.main import PIPE_CLOSED

    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOQA_DATA_DIR": str(tmp_path / "piped")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "videoqa_cli", *argv], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (status, "") and PIPE_CLOSED == 141


def test_long_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """The shell's ``| head -1`` over output longer than a pipe holds: the first line, then quiet."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOQA_DATA_DIR": str(tmp_path / "piped")}
    assert main(["migrate"]) == 0
    engine = engine_for(get_settings().resolved_database_url)
    with unit_of_work(engine) as session:
        for i in range(400):  # about 120 KiB of --json, twice what a pipe buffers
            make_video(session, title=f"harbour cam {i}", status="ready", duration=60.0)
    env["VIDEOQA_DATA_DIR"] = str(get_settings().data_dir)
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m videoqa_cli videos --json | head -1"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (141, "[\n", "")


def test_a_visual_hit_without_labels_says_so_instead_of_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A shot with no labels has empty text; search and similar print what it is, not ``title: `` (issue 28)."""
    from video_qa.services import similar
    from videoqa_cli.commands import library

    hit = {"video_id": 3, "title": "test", "start": 12.0, "end": 20.0, "start_uncertainty": 0.0,
           "end_uncertainty": 0.0, "kind": "visual", "text": "", "highlights": [], "changed_on_disk": False,
           "score": 0.5, "moment_id": 41, "labels": []}
    monkeypatch.setattr(library, "prepare_database", lambda settings: None)
    monkeypatch.setattr(library, "unit_of_work", lambda engine: contextlib.nullcontext(None))
    monkeypatch.setattr("video_qa.services.videos.search_hits", lambda *a, **k: [hit, {**hit, "kind": "chapter"}])
    monkeypatch.setattr("video_qa.analyzers.get_embedder", lambda settings: None)
    monkeypatch.setattr(similar, "visual_query", lambda settings: None)
    monkeypatch.setattr(similar, "similar_to_moment",
                        lambda *a, **k: {"moment_id": 40, "space": "visual", "model": None, "hits": [hit]})
    assert main(["search", "colour bars"]) == 0
    visual, chapter = capsys.readouterr().out.splitlines()
    assert visual.startswith("    3  0:00:12.0–0:00:20.0") and visual.split()[2] == "visual"
    assert visual.endswith("test: (visual moment, no labels)")
    assert chapter.endswith("test: (chapter moment, no text)")
    assert main(["similar", "40"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("0.500  test: (visual moment, no labels)")


def test_the_readme_has_a_row_for_every_command_and_search_s_json_fields() -> None:
    """README's Commands table: one row per subcommand, and the search row's ``--json`` keys are
    the ones printed, in their order (issue 28: ``similar`` was missing, ``moment_ids``/``kinds`` too)."""
    import re

    from videoqa_cli.commands.library import HIT_FIELDS
    from videoqa_cli.main import build_parser

    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `videoqa (\w+)[^|]*(?:\\\|[^|]*)*\| (.*) \|$", readme, flags=re.MULTILINE)
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert sorted(name for name, _ in rows) == sorted(commands)
    search = dict(rows)["search"]
    assert f"`[{{{', '.join(HIT_FIELDS)}}}]`" in search and "prints `no matching moments`" in search
