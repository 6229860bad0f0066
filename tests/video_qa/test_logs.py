"""Structured logs: records written while a work item runs carry its ids, as text and as JSON."""

from __future__ import annotations

import io
import json
import logging

from video_qa.logs import ContextFilter, JsonFormatter, log_context
from video_qa.logs import FORMAT


def _capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, stream


def test_json_lines_carry_the_ids_of_the_running_item() -> None:
    logger, stream = _capture(JsonFormatter())
    logger.info("outside")
    with log_context(video_id=7, job_id=3, part="see", clip=2):
        with log_context(task_id="abc"):
            logger.info("inside %s", "clip")
        logger.warning("after the task")
    first, inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "video_id" not in first and first["message"] == "outside"
    assert {k: inside[k] for k in ("video_id", "job_id", "part", "clip", "task_id", "message", "level")} == {
        "video_id": 7, "job_id": 3, "part": "see", "clip": 2, "task_id": "abc", "message": "inside clip", "level": "INFO"}
    assert "task_id" not in after and after["video_id"] == 7


def test_text_lines_end_with_the_ids() -> None:
    logger, stream = _capture(logging.Formatter(FORMAT))
    with log_context(video_id=5, clip=None, part="ingest"):
        logger.info("probing")
    assert stream.getvalue().rstrip().endswith("probing [video_id=5 part=ingest]")
