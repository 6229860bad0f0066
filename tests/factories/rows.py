"""Row factories: valid defaults, override what the test is about."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from sqlalchemy.orm import Session

from video_qa.models import Clip, Job, Moment, Question, Video

_counter = itertools.count(1)


def make_video(session: Session, **fields: Any) -> Video:
    n = next(_counter)
    values: dict[str, Any] = {
        "title": f"video {n}",
        "path": f"/media/{n}.mp4",
        "sha256": hashlib.sha256(str(n).encode()).hexdigest(),
        "size": 1000 + n,
        "duration": 120.0,
        "fps": 30.0,
        "width": 1280,
        "height": 720,
        "codec": "h264",
        "has_audio": True,
    }
    values.update(fields)
    video = Video(**values)
    session.add(video)
    session.flush()
    return video


def make_job(session: Session, video: Video, **fields: Any) -> Job:
    job = Job(video=video, **fields)
    session.add(job)
    session.flush()
    return job


def make_clip(session: Session, video: Video, index: int = 0, **fields: Any) -> Clip:
    values: dict[str, Any] = {"start": index * 60.0, "end": (index + 1) * 60.0, "sample_fps": 2.0, "frames": 120}
    values.update(fields)
    clip = Clip(video=video, index=index, **values)
    session.add(clip)
    session.flush()
    return clip


def make_moment(session: Session, video: Video, clip: Clip | None = None, **fields: Any) -> Moment:
    values: dict[str, Any] = {"kind": "event", "seq": 0, "start": 1.25, "end": 3.5, "text": "a van arrives"}
    values.update(fields)
    moment = Moment(video=video, clip=clip, clip_index=clip.index if clip else -1, **values)
    session.add(moment)
    session.flush()
    return moment


def make_question(session: Session, video: Video, **fields: Any) -> Question:
    values: dict[str, Any] = {"question": "when does the van arrive?"}
    values.update(fields)
    question = Question(video_id=video.id, **values)
    session.add(question)
    session.flush()
    return question
