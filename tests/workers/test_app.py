"""The Celery app: its modules import one way (no cycle, function-level imports included), its
tasks and routes, the retry limit taken from ``MAX_RETRIES``."""

from __future__ import annotations

import grimp
import pytest

from tests.factories.pipeline import quiet_settings
from workers import app as app_module
from workers.app import ASK_QUEUE, MAX_RETRIES, make_celery
from workers.tasks import ASK_TASK


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("workers", "video_qa", "model", include_external_packages=False)


def test_the_workers_package_has_no_import_cycle(graph: grimp.ImportGraph) -> None:
    modules = sorted(m for m in graph.modules if m.startswith("workers"))
    cycles = [(m, n) for m in modules for n in graph.find_modules_directly_imported_by(m)
              if n.startswith("workers") and graph.find_shortest_chain(importer=n, imported=m)]
    assert cycles == []
    for low in ("workers.tasks", "workers.liveness", "workers.broker"):
        assert graph.find_shortest_chain(importer=low, imported="workers.app") is None, low
    # video_qa never imports workers (the services take a send callable instead)
    assert not [m for m in graph.modules if m.startswith("video_qa")
                if graph.find_shortest_chain(importer=m, imported="workers.app")]


def test_tasks_retry_at_most_max_retries(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings = quiet_settings(tmp_path)
    app = make_celery(settings)
    ours = {name: task for name, task in app.tasks.items() if name.startswith("videoqa.")}
    assert set(ours) == {"videoqa.ingest", "videoqa.analyze_clip", "videoqa.see_clip", "videoqa.look_clip",
                         "videoqa.finalize", ASK_TASK}
    assert {task.max_retries for task in ours.values()} == {MAX_RETRIES}
    monkeypatch.setattr(app_module, "MAX_RETRIES", 2)
    assert {t.max_retries for n, t in make_celery(settings).tasks.items() if n.startswith("videoqa.")} == {2}


def test_the_ask_task_goes_to_the_gpu_queue(tmp_path) -> None:  # type: ignore[no-untyped-def]
    routes = make_celery(quiet_settings(tmp_path)).conf.task_routes
    assert ASK_QUEUE == "gpu" and routes[ASK_TASK] == {"queue": "gpu"} and routes["videoqa.see_clip"] == {"queue": "gpu"}
    assert {routes[n]["queue"] for n in ("videoqa.ingest", "videoqa.analyze_clip", "videoqa.look_clip",
                                         "videoqa.finalize")} == {"cpu"}


def test_every_part_of_the_ledger_has_a_task_that_runs_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A part the pipeline queues (a re-ingest queues ``look`` alone) can be sent and is run by a
    task of its own name."""
    from video_qa.models import ItemPart

    app = make_celery(quiet_settings(tmp_path))
    assert set(app_module.TASK_FOR_PART) == {part.value for part in ItemPart}
    assert all(name in app.tasks for name in app_module.TASK_FOR_PART.values())
