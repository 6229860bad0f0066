"""The moments store: every write of a part's results, and finalize's read of them.

Moments are keyed by (video_id, clip_index, kind, seq). ``replace_moments`` deletes the rows of
(video, clip, kind) and inserts the new list numbered from 0, so a repeated or redelivered part
leaves exactly the rows one run leaves; rows equal by value to the new list are left as they are
(their ids stay, e.g. the text moments when finalize runs again for visual moments added). Beside its moments a clip part stores what finalize reads
of it on the clip row: its scene cuts (``hear_read``), its caption (``see``), and the readers'
and models' notes. Every function works inside the caller's transaction (flushes, never commits).
"""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from video_qa.models import VIDEO_LEVEL, Clip, Moment, MomentEmbedding, MomentKind, Video, VisualEmbedding
from video_qa.moments.values import EMBEDDING_DTYPE, FinalizeInputs, NewMoment, pack_embedding, unpack_embedding


def _same_rows(session: Session, video_id: int, clip_index: int, kind: str, ordered: list[NewMoment]) -> bool:
    """True when the stored rows of (video, clip, kind) are ``ordered`` by value (times, text, meta
    and vectors): they are then left as they are, ids included."""
    rows = session.scalars(
        select(Moment).options(selectinload(Moment.vector), selectinload(Moment.image_vector))
        .where(Moment.video_id == video_id, Moment.clip_index == clip_index, Moment.kind == kind).order_by(Moment.seq)
    ).all()
    if len(rows) != len(ordered):
        return False
    for row, m in zip(rows, ordered, strict=True):
        start = max(0.0, float(m.start))
        image = _image_vector(m)
        if (row.start, row.end, row.text) != (start, max(start, float(m.end)), m.text):
            return False
        if (row.meta or None) != (json.loads(json.dumps(m.meta)) if m.meta else None):
            return False
        if (None if row.vector is None else row.vector.embedding) != pack_embedding(m.embedding):
            return False
        if (None if row.image_vector is None else (row.image_vector.model, row.image_vector.embedding)) != (
                None if image is None else (image.model, image.embedding)):
            return False
    return True


def replace_moments(
    session: Session, video_id: int, clip_id: int | None, clip_index: int, kind: str, moments: list[NewMoment]
) -> int:
    ordered = sorted(moments, key=lambda m: (m.start, m.end, m.text))
    if _same_rows(session, video_id, clip_index, kind, ordered):
        return len(ordered)
    session.execute(
        delete(Moment).where(Moment.video_id == video_id, Moment.clip_index == clip_index, Moment.kind == kind)
    )
    for seq, m in enumerate(ordered):
        start = max(0.0, float(m.start))
        session.add(Moment(
            video_id=video_id, clip_id=clip_id, clip_index=clip_index, kind=kind, seq=seq,
            start=start, end=max(start, float(m.end)), text=m.text, meta=m.meta or None,
            vector=None if m.embedding is None else MomentEmbedding(embedding=pack_embedding(m.embedding)),
            image_vector=_image_vector(m),
        ))
    session.flush()
    return len(ordered)


def _image_vector(m: NewMoment) -> VisualEmbedding | None:
    if m.image_embedding is None:
        return None
    vector = np.asarray(m.image_embedding, dtype=EMBEDDING_DTYPE).ravel()
    return VisualEmbedding(model=m.image_model or "", dim=int(vector.size), embedding=vector.tobytes())


def add_notes(session: Session, clip_id: int, notes: list[str]) -> None:
    """Add what the readers and models reported to the clip's notes (each note once)."""
    clip = session.get(Clip, clip_id)
    if clip is not None and notes:
        clip.notes = list(dict.fromkeys([*(clip.notes or []), *notes]))


def store_heard_read(session: Session, video_id: int, clip_id: int, clip_index: int, speech: list[NewMoment],
                     text: list[NewMoment], cuts: list[list[float]], notes: list[str],
                     visual: list[NewMoment] | None = None) -> tuple[int, int]:
    """A ``hear_read`` part's results: its speech and text moments, its visual moments when it
    looked too (None: it did not; the clip's visual moments stay), its scene cuts
    ([[time, uncertainty]], on the clip row) and notes; returns (speech, text) counts."""
    n_speech = replace_moments(session, video_id, clip_id, clip_index, MomentKind.speech.value, speech)
    n_text = replace_moments(session, video_id, clip_id, clip_index, MomentKind.text.value, text)
    if visual is not None:
        replace_moments(session, video_id, clip_id, clip_index, MomentKind.visual.value, visual)
    clip = session.get(Clip, clip_id)
    if clip is not None:
        clip.scene_cuts = cuts
    add_notes(session, clip_id, notes)
    return n_speech, n_text


def store_looked(session: Session, video_id: int, clip_id: int, clip_index: int, visual: list[NewMoment],
                 notes: list[str]) -> int:
    """A ``look`` part's results: the clip's visual moments (with their image vectors) and notes
    only; returns their count."""
    n = replace_moments(session, video_id, clip_id, clip_index, MomentKind.visual.value, visual)
    add_notes(session, clip_id, notes)
    return n


def store_seen(session: Session, video_id: int, clip_id: int, clip_index: int, events: list[NewMoment],
               caption: str, model: str, notes: list[str]) -> int:
    """A ``see`` part's results: its event moments, the clip's caption and model, notes; returns
    the events' count."""
    n = replace_moments(session, video_id, clip_id, clip_index, MomentKind.event.value, events)
    clip = session.get(Clip, clip_id)
    if clip is not None:
        clip.caption, clip.model = caption, model
    add_notes(session, clip_id, notes)
    return n


def _new(m: Moment) -> NewMoment:
    vector = None if m.vector is None else unpack_embedding(m.vector.embedding)
    return NewMoment(m.start, m.end, m.text, dict(m.meta or {}), vector)


def _new_visual(m: Moment) -> NewMoment:
    moment = _new(m)
    if m.image_vector is not None:
        moment.image_embedding = unpack_embedding(m.image_vector.embedding)
        moment.image_model = m.image_vector.model
    moment.meta.setdefault("clips", [m.clip_index])
    return moment


def finalize_inputs(session: Session, video_id: int) -> FinalizeInputs:
    """Every clip part's results of the video: text, speech and visual moments (with their
    embeddings) in time order, the clips' scene cuts in time order, and their captions."""
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"video {video_id} is gone")
    clips = list(session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index)))
    rows = session.scalars(
        select(Moment).options(selectinload(Moment.vector))
        .where(Moment.video_id == video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]))
        .order_by(Moment.start, Moment.clip_index, Moment.seq)
    ).all()
    visual = session.scalars(
        select(Moment).options(selectinload(Moment.vector), selectinload(Moment.image_vector))
        .where(Moment.video_id == video_id, Moment.kind == MomentKind.visual.value)
        .order_by(Moment.start, Moment.clip_index, Moment.seq)
    ).all()
    cuts = sorted(cut for c in clips for cut in (c.scene_cuts or []))
    duration = video.duration if video.duration else max((c.end for c in clips), default=0.0)
    return FinalizeInputs(
        duration, {c.index: c.id for c in clips},
        [_new(m) for m in rows if m.kind == MomentKind.text.value],
        [_new(m) for m in rows if m.kind == MomentKind.speech.value], cuts,
        [(c.start, c.end, c.caption) for c in clips if c.caption], [_new_visual(m) for m in visual])


def store_text(session: Session, video_id: int, clips: dict[int, int], text: list[NewMoment],
               kind: str = MomentKind.text.value) -> int:
    """Rewrite the video's moments of ``kind`` (text, or visual) with the stitched ones, each under
    the clip it starts in (``meta["clips"][0]``)."""
    by_clip: dict[int, list[NewMoment]] = {index: [] for index in clips}
    for m in text:
        by_clip.setdefault(int(m.meta.get("clips", [0])[0]), []).append(m)
    return sum(replace_moments(session, video_id, clips.get(index), index, kind, moments)
               for index, moments in by_clip.items())


def store_finalized(session: Session, video: Video, clips: dict[int, int], text: list[NewMoment],
                    chapters: list[NewMoment], summary: str, visual: list[NewMoment] | None = None) -> int:
    """Finalize's results: the stitched text moments, the visual moments stitched across clips
    (None: left as they are), the chapters (video-level) and the video's summary; returns the text
    moments' count."""
    n_text = store_text(session, video.id, clips, text)
    if visual is not None:
        store_text(session, video.id, clips, visual, MomentKind.visual.value)
    replace_moments(session, video.id, None, VIDEO_LEVEL, MomentKind.chapter.value, chapters)
    video.summary = summary
    return n_text
