"""The work ledger: claims, fan-in, idempotence, recovery, retry after a fix (no Celery here;
tests/workers runs the same code through real workers)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import OperationalError

from tests.factories.media import silent_video, speech_and_caption_video
from tests.factories.pipeline import WORKER, dead_pid, drain, ingest, moment_rows, quiet_settings, request
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.models import Clip, ItemStatus, Job, Video, WorkerProcess, WorkItem, utcnow
from video_qa.pipeline import (
    MAX_TAKEOVERS,
    ItemRef,
    claim,
    file_name,
    is_transient,
    live_worker_names,
    queue_finalize_if_complete,
    release_claim,
    request_ingest,
    run_item,
    without_paths,
)
from video_qa.registry import register_file
from video_qa.pipeline import heartbeat, recover, runners
from video_qa.analyzers import get_backends


def _items(engine: Engine, video_id: int) -> dict[tuple[int, str], WorkItem]:
    with unit_of_work(engine) as session:
        return {(i.clip_index, i.part): i for i in session.scalars(select(WorkItem).where(WorkItem.video_id == video_id))}


def _set_item(engine: Engine, video_id: int, clip_index: int, part: str, **values: object) -> None:
    with unit_of_work(engine) as session:
        session.execute(update(WorkItem).where(
            WorkItem.video_id == video_id, WorkItem.clip_index == clip_index, WorkItem.part == part).values(**values))


def test_a_video_goes_to_ready_with_clips_covering_the_timeline(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    video_id, ran = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    assert [r.part for r in ran] == ["ingest", "hear_read", "hear_read", "hear_read", "finalize"]
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        clips = session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index)).all()
        job = session.scalars(select(Job).where(Job.video_id == video_id)).one()
        assert video.status == "ready" and video.duration == pytest.approx(6.0, abs=0.05)
        assert [c.status for c in clips] == ["done"] * 3
        assert clips[0].start == 0.0 and clips[-1].end == pytest.approx(video.duration)
        assert all(a.end == b.start for a, b in zip(clips, clips[1:]))
        assert (job.status, job.stage, job.progress) == ("done", "done", 1.0)
        assert video.summary == "Nothing was said and no on-screen text was read."
    assert {i.status for i in _items(engine, video_id).values()} == {"done"}


def test_a_repeated_message_for_a_done_item_does_nothing(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    before = _items(engine, video_id)[(1, "hear_read")].attempts
    assert run_item(engine, ItemRef(video_id, 1, "hear_read"), "other@x", settings, lambda: get_backends(settings)) == []
    assert _items(engine, video_id)[(1, "hear_read")].attempts == before


def test_a_part_redone_after_its_worker_died_leaves_the_same_rows(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path, speech_model="bundled", ocr=True, embed_model="bundled", clip_seconds=6.0)
    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=12, speech=(1.0, "the budget is approved"),
                                    caption=(7.0, 11.0, "EXIT 12"))
    video_id, _ = ingest(engine, settings, path)
    first = moment_rows(engine, video_id)
    kinds = {row[0] for row in first}
    assert {"speech", "text", "chapter"} <= kinds
    finalize = ItemRef(video_id, -1, "finalize")
    for clip_index in (0, 1):  # as if a worker died in the middle of each clip's part
        _set_item(engine, video_id, clip_index, "hear_read", status="running", worker="dead@gone")
        # the clip's text is stitched again with its neighbours: finalize runs again
        assert run_item(engine, ItemRef(video_id, clip_index, "hear_read"), WORKER, settings,
                        lambda: get_backends(settings)) == [finalize]
        assert run_item(engine, finalize, WORKER, settings, lambda: get_backends(settings)) == []
        assert moment_rows(engine, video_id) == first


def test_claims_respect_live_workers(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    ref = ItemRef(video_id, 0, "hear_read")
    heartbeat(engine, "alive@x", "cpu", False)
    _set_item(engine, video_id, 0, "hear_read", status="running", worker="alive@x")
    assert not claim(engine, ref, "other@y", settings)
    assert claim(engine, ref, "alive@x", settings)  # its own redelivered message
    with unit_of_work(engine) as session:
        session.execute(update(WorkerProcess).values(heartbeat_at=utcnow() - timedelta(seconds=settings.worker_stale_after + 1)))
    assert claim(engine, ref, "other@y", settings)  # alive@x went silent: taken over
    heartbeat(engine, "other@y", "cpu", False)
    assert not claim(engine, ref, "third@z", settings)
    assert not release_claim(engine, ref, "third@z")  # before a retry: only the holder releases
    assert release_claim(engine, ref, "other@y") and claim(engine, ref, "third@z", settings)
    assert _items(engine, video_id)[(0, "hear_read")].takeovers == 1  # alive@x's silence only


def test_finalize_is_queued_exactly_once(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    _set_item(engine, video_id, -1, "finalize", status="waiting")
    with unit_of_work(engine) as session:
        first = queue_finalize_if_complete(session, video_id)
        second = queue_finalize_if_complete(session, video_id)
    assert first == [ItemRef(video_id, -1, "finalize")] and second == []


def test_recovery_requeues_orphans_and_lost_messages_and_stops_a_poison_part(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path, requeue_after=60.0)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    long_ago = utcnow() - timedelta(seconds=120)
    _set_item(engine, video_id, 0, "hear_read", status="running", worker="dead@gone", takeovers=1)
    _set_item(engine, video_id, 1, "hear_read", status="queued", queued_at=long_ago)
    _set_item(engine, video_id, 2, "hear_read", status="running", worker="dead@gone", takeovers=MAX_TAKEOVERS)
    heartbeat(engine, "alive@x", "cpu", False)
    sent = recover(engine, settings)
    assert set(sent) == {ItemRef(video_id, 0, "hear_read"), ItemRef(video_id, 1, "hear_read")}
    items = _items(engine, video_id)
    assert items[(0, "hear_read")].status == "queued" and items[(0, "hear_read")].worker is None
    assert items[(0, "hear_read")].takeovers == 2
    assert items[(2, "hear_read")].status == "failed" and "died each time" in items[(2, "hear_read")].error
    with unit_of_work(engine) as session:
        assert session.get(Video, video_id).status == "failed"
    assert recover(engine, settings) == []  # nothing is sent twice


def test_reingest_skips_what_is_done_and_redoes_what_changed(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    path = silent_video(tmp_path / "six.mp4", seconds=6)
    video_id, _ = ingest(engine, settings, path)
    again_id, ran = ingest(engine, settings, path)
    assert again_id == video_id and [r.part for r in ran] == ["ingest"]
    changed = quiet_settings(tmp_path, ocr_fps=1.0)
    _, ran = ingest(engine, changed, path)
    assert [r.part for r in ran] == ["ingest", "hear_read", "hear_read", "hear_read", "finalize"]
    replanned = quiet_settings(tmp_path, clip_seconds=3.0)
    _, ran = ingest(engine, replanned, path)
    assert [r.part for r in ran].count("hear_read") == 2
    with unit_of_work(engine) as session:
        assert [c.index for c in session.scalars(select(Clip).where(Clip.video_id == video_id))] == [0, 1]


def test_bad_media_fails_the_video_with_its_reason(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 5000)
    video_id, ran = ingest(engine, settings, bad)
    assert [r.part for r in ran] == ["ingest"]
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        job = session.scalars(select(Job).where(Job.video_id == video_id)).one()
        assert video.status == "failed" and video.error.startswith("broken.mp4: ")
        assert str(tmp_path) not in video.error
        assert job.status == "failed" and job.message == video.error


def test_a_failed_video_is_retried_once_the_cause_is_fixed(tmp_path: Path, engine: Engine) -> None:
    path = silent_video(tmp_path / "six.mp4", seconds=6)
    broken = quiet_settings(tmp_path, vlm_model=str(tmp_path / "no-such-model"))
    video_id, _ = ingest(engine, broken, path)
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        assert video.status == "failed" and "VIDEOQA_VLM_MODEL" in video.error
    fixed = quiet_settings(tmp_path)
    with unit_of_work(engine) as session:
        _, refs = request_ingest(session, video_id, fixed)
    drain(engine, fixed, refs)
    with unit_of_work(engine) as session:
        assert session.get(Video, video_id).status == "ready"
        assert {j.status for j in session.scalars(select(Job).where(Job.video_id == video_id))} == {"failed", "done"}


def test_transient_errors_are_told_apart_from_permanent_ones() -> None:
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(ConnectionError("reset"))
    assert not is_transient(MediaError("/x.mp4", "not a media file"))
    assert not is_transient(ValueError("a bug"))


CORRUPT = b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 5000


def _video(engine: Engine, video_id: int) -> Video:
    with unit_of_work(engine) as session:
        return session.get(Video, video_id)


def test_a_video_reingested_many_times_survives_one_worker_death(tmp_path: Path, engine: Engine) -> None:
    """Claims are not deaths: re-analysing a video again and again never counts against it."""
    settings, other = quiet_settings(tmp_path), quiet_settings(tmp_path, ocr_fps=1.0)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    for n in range(MAX_TAKEOVERS + 1):  # every part done, queued and run again each time
        ran = request(engine, other if n % 2 == 0 else settings, video_id)
        assert [r.part for r in ran] == ["ingest", "hear_read", "hear_read", "hear_read", "finalize"]
    assert _items(engine, video_id)[(-1, "ingest")].attempts == MAX_TAKEOVERS + 2
    _set_item(engine, video_id, -1, "ingest", status="running", worker="dead@gone")  # one worker dies
    _set_item(engine, video_id, 0, "hear_read", status="running", worker="dead@gone")
    sent = recover(engine, settings)
    assert set(sent) == {ItemRef(video_id, -1, "ingest"), ItemRef(video_id, 0, "hear_read")}
    assert _video(engine, video_id).status != "failed"
    drain(engine, settings, sent)
    assert _video(engine, video_id).status == "ready"


def test_takeovers_count_deaths_and_a_new_request_counts_afresh(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    ref = ItemRef(video_id, 0, "hear_read")
    _set_item(engine, video_id, 0, "hear_read", status="running", worker=WORKER)
    # its own redelivery (not a takeover); the clip redone, finalize is due again
    assert run_item(engine, ref, WORKER, settings, lambda: get_backends(settings)) == [ItemRef(video_id, -1, "finalize")]
    assert _items(engine, video_id)[(0, "hear_read")].takeovers == 0
    for n in range(1, MAX_TAKEOVERS + 1):  # taken from a dead holder by the claim itself
        _set_item(engine, video_id, 0, "hear_read", status="running", worker=f"dead{n}@gone")
        run_item(engine, ref, WORKER, settings, lambda: get_backends(settings))
        item = _items(engine, video_id)[(0, "hear_read")]
        assert (item.status, item.takeovers) == ("done", n)
    _set_item(engine, video_id, 0, "hear_read", status="running", worker="last@gone")
    assert not claim(engine, ref, WORKER, settings)  # taken over MAX_TAKEOVERS times: not again
    assert recover(engine, settings) == []  # ... but failed
    item = _items(engine, video_id)[(0, "hear_read")]
    assert item.status == "failed"
    assert item.error == (f"hear_read of clip 0: its worker died each time it ran ({MAX_TAKEOVERS + 1} times, "
                          "last last@gone); not retried again")
    assert _video(engine, video_id).error == item.error
    assert [r.part for r in request(engine, settings, video_id)] == ["ingest", "hear_read", "finalize"]
    assert _video(engine, video_id).status == "ready"
    assert {i.takeovers for i in _items(engine, video_id).values()} == {0}


def test_a_worker_whose_process_is_gone_is_not_live_for_any_rule(tmp_path: Path, engine: Engine) -> None:
    """One rule: a fresh heartbeat from this machine counts only while its process exists, for the
    claim, recovery and the list of live workers alike; another machine's is judged by heartbeat."""
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    pid, now = dead_pid(), utcnow()
    with unit_of_work(engine) as session:
        for name, host in ((f"gone-{pid}@here", socket.gethostname()), ("far@elsewhere", "elsewhere")):
            session.add(WorkerProcess(name=name, hostname=host, pid=pid, queues="cpu", embedded=False,
                                      started_at=now, heartbeat_at=now))
    with unit_of_work(engine) as session:
        assert live_worker_names(session, settings) == ["far@elsewhere"]
    for clip_index in (0, 1):
        _set_item(engine, video_id, clip_index, "hear_read", status="running", worker=f"gone-{pid}@here")
    _set_item(engine, video_id, 2, "hear_read", status="running", worker="far@elsewhere")
    heartbeat(engine, "other@y", "cpu", False)  # this process: alive
    assert claim(engine, ItemRef(video_id, 0, "hear_read"), "other@y", settings)
    assert recover(engine, settings) == [ItemRef(video_id, 1, "hear_read")]
    assert not claim(engine, ItemRef(video_id, 2, "hear_read"), "other@y", settings)


def test_a_bug_in_a_part_is_raised_and_recorded_not_swallowed(tmp_path: Path, engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings = quiet_settings(tmp_path)
    with unit_of_work(engine) as session:
        video_id = register_file(session, silent_video(tmp_path / "six.mp4", seconds=6), settings).video_id
        _, refs = request_ingest(session, video_id, settings)
    clip_parts = run_item(engine, refs[0], WORKER, settings, lambda: get_backends(settings))

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("speech")

    monkeypatch.setattr(runners, "hear_read", broken)
    with pytest.raises(KeyError):
        run_item(engine, clip_parts[0], WORKER, settings, lambda: get_backends(settings))
    video = _video(engine, video_id)
    assert video.status == "failed"
    assert video.error == "clip 0 (hear_read): unexpected error (KeyError: 'speech'); the worker's log has the details"
    with unit_of_work(engine) as session:  # a clip gone while its message waited: expected, recorded
        session.execute(delete(Clip).where(Clip.video_id == video_id, Clip.index == 1))
    assert run_item(engine, clip_parts[1], WORKER, settings, lambda: get_backends(settings)) == []
    assert _video(engine, video_id).error == f"clip 1 (hear_read): video {video_id} has no clip 1"


def test_a_failure_names_the_file_as_its_user_knows_it_never_a_server_path(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    media = tmp_path / "data" / "media"
    media.mkdir(parents=True)
    stored = media / "4c71aa55e0f1_notes.mp4"  # how the web app stores an upload called notes.mp4
    stored.write_bytes(CORRUPT)
    with unit_of_work(engine) as session:
        video_id = register_file(session, stored, settings, title="notes").video_id
        _, refs = request_ingest(session, video_id, settings)
    drain(engine, settings, refs)
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        job = session.scalars(select(Job).where(Job.video_id == video_id)).one()
        assert video.status == "failed" and video.error.startswith("notes.mp4: ")
        assert str(tmp_path) not in video.error and "4c71aa55e0f1" not in video.error and "/" not in video.error
        assert job.message == video.error


def test_failure_reasons_name_files_by_their_users_names() -> None:
    assert file_name("notes", "/srv/videoqa/media/4c71aa55e0f1_notes.mp4") == "notes.mp4"
    assert file_name("Board meeting", "/srv/videoqa/media/4c71aa55e0f1_Board_meeting.mp4") == "Board meeting.mp4"
    assert file_name("Harbour, first day", "/archive/2024/harbour.mkv") == "harbour.mkv"
    stored = "/srv/videoqa/media/4c71aa55e0f1_notes.mp4"
    assert without_paths(f"{stored}: Invalid data found", stored, "notes.mp4") == "notes.mp4: Invalid data found"
    assert (without_paths("cannot load /srv/models/qwen-7b/ (frame rate 30000/1001, see https://x.org/a)")
            == "cannot load qwen-7b (frame rate 30000/1001, see https://x.org/a)")


def test_ingest_records_the_files_size_and_modification_time(tmp_path: Path, engine: Engine) -> None:
    settings = quiet_settings(tmp_path)
    path = silent_video(tmp_path / "six.mp4", seconds=6)
    os.utime(path, (1_700_000_000.25, 1_700_000_000.25))
    video_id, _ = ingest(engine, settings, path)
    video = _video(engine, video_id)
    assert (video.size, video.file_mtime) == (path.stat().st_size, 1_700_000_000.25)


def test_a_duplicate_message_for_a_part_running_in_this_process_does_nothing(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's threads share its name: a second thread taking a duplicate message of the part
    the first is running must not run it again beside it."""
    settings = quiet_settings(tmp_path)
    video_id, _ = ingest(engine, settings, silent_video(tmp_path / "six.mp4", seconds=6))
    ref = ItemRef(video_id, 0, "hear_read")
    _set_item(engine, video_id, 0, "hear_read", status="queued", worker=None)
    runs: list[list[ItemRef]] = []
    real = runners.RUNNERS["hear_read"]

    def runner(engine_, ref_, settings_, backends_):  # type: ignore[no-untyped-def]
        runs.append(run_item(engine_, ref_, WORKER, settings_, backends_))  # the duplicate, meanwhile
        return real(engine_, ref_, settings_, backends_)

    monkeypatch.setitem(runners.RUNNERS, "hear_read", runner)
    run_item(engine, ref, WORKER, settings, lambda: get_backends(settings))
    assert runs == [[]]  # the duplicate did nothing
    item = _items(engine, video_id)[(0, "hear_read")]
    assert (item.status, item.attempts) == ("done", 2)  # claimed once by the ingest, once here


def test_two_parts_in_flight_at_once_leave_the_rows_one_at_a_time_leaves(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The embedded worker runs two parts at once (and each part hears speech in a side thread
    beside its reading of text): two clips' parts run together must store what they store one
    after the other."""
    import threading

    settings = quiet_settings(tmp_path, speech_model="bundled", ocr=True, embed_model="bundled", clip_seconds=6.0)
    path = speech_and_caption_video(tmp_path / "talk.mp4", seconds=12, speech=(1.0, "the budget is approved"),
                                    caption=(4.0, 11.0, "EXIT 12"))
    video_id, _ = ingest(engine, settings, path)
    first = moment_rows(engine, video_id)
    assert {"speech", "text", "chapter"} <= {row[0] for row in first}
    together = threading.Barrier(2, timeout=60)
    real = runners.RUNNERS["hear_read"]
    inside: list[int] = []

    def runner(engine_, ref_, settings_, backends_):  # type: ignore[no-untyped-def]
        together.wait()  # both parts are claimed and running before either computes
        inside.append(ref_.clip_index)
        return real(engine_, ref_, settings_, backends_)

    monkeypatch.setitem(runners.RUNNERS, "hear_read", runner)
    for clip_index in (0, 1):
        _set_item(engine, video_id, clip_index, "hear_read", status="queued", worker=None)
    follow: dict[int, list[ItemRef]] = {}

    def run(clip_index: int) -> None:
        follow[clip_index] = run_item(engine, ItemRef(video_id, clip_index, "hear_read"), WORKER, settings,
                                      lambda: get_backends(settings))

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(inside) == [0, 1]
    finalize = ItemRef(video_id, -1, "finalize")
    assert sorted(len(f) for f in follow.values()) == [0, 1] and [finalize] in follow.values()  # fan-in once
    assert run_item(engine, finalize, WORKER, settings, lambda: get_backends(settings)) == []
    assert moment_rows(engine, video_id) == first
