"""Load through the API against one web server and two workers: 20 uploads at once while 200 searches
run. No 5xx anywhere, every job finishes ready, and the search latency is reported (p50/p95)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from tests.factories.media import speech_and_caption_video
from tests.factories.processes import wait_until
from tests.reliability.conftest import Searcher, Stack, report, variant

UPLOADS = 20
SEARCHES = 200
SEARCH_THREADS = 4
QUERIES = ["forklift", "warehouse forklift", "the forklift moves pallets", "pallets", "EXIT", "budget",
           "quarterly budget approved", "nothing matches this", "loading dock", "crane"]


def test_20_uploads_and_200_searches_with_two_workers(stack: Stack) -> None:
    clip = speech_and_caption_video(stack.root / "forklift.mp4", seconds=4, speech=(0.5, "the forklift moves pallets"),
                                    caption=(2.0, 4.0, "DOCK 3"))
    files = [variant(clip, stack.root, f"load{i:02d}") for i in range(UPLOADS)]
    queries = [QUERIES[i % len(QUERIES)] for i in range(SEARCHES)]
    with stack.worker("--name", "load-a"), stack.worker("--name", "load-b"):
        wait_until(lambda: stack.live_workers() >= 2, 90, 0.3, "two workers")
        searchers = [Searcher(stack, queries[i::SEARCH_THREADS]) for i in range(SEARCH_THREADS)]
        started = time.monotonic()
        for s in searchers:
            s.start()
        with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
            uploads = list(pool.map(lambda p: stack.upload(p.read_bytes(), p.name), files))
        for s in searchers:
            s.join(timeout=300)
        ids = [body["id"] for status, body in uploads if status == 201]
        rows = [stack.wait_done(video_id, 600) for video_id in ids]
        elapsed = time.monotonic() - started
        alive = stack.live_workers()

    upload_statuses = [status for status, _ in uploads]
    searches = [r for s in searchers for r in s.results]
    latencies = sorted(seconds for _, seconds in searches)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    result = {
        "uploads": UPLOADS, "upload_statuses": sorted(set(upload_statuses)),
        "searches": len(searches), "search_statuses": sorted({status for status, _ in searches}),
        "search_p50_ms": round(statistics.median(latencies) * 1000, 1), "search_p95_ms": round(p95 * 1000, 1),
        "ready": sum(r["status"] == "ready" for r in rows), "all_done_in_s": round(elapsed, 1),
        "workers_alive_at_end": alive,
    }
    report("load", result)
    print(result)
    assert upload_statuses == [201] * UPLOADS, uploads
    assert len(searches) == SEARCHES and {status for status, _ in searches} == {200}
    assert [r["status"] for r in rows] == ["ready"] * UPLOADS, [r for r in rows if r["status"] != "ready"]
    assert alive == 2
    # what was uploaded is searchable: the spoken word finds one of the 20 videos at its time
    status, hits = stack.get("/api/v1/search?q=forklift&kind=speech")
    assert status == 200 and hits and hits[0]["video_id"] in ids and abs(hits[0]["start"] - 0.5) < 1.0
