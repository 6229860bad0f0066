"""The moments store: every write of a part's results, and finalize's read of them.

Moments are keyed by (video_id, clip_index, kind, seq). ``replace_moments`` deletes the rows of
(video, clip, kind) and inserts the new list numbered from 0, so a repeated or redelivered part
leaves exactly the rows one run leaves. Beside its moments a clip part stores what finalize reads
of it on the clip row: its scene cuts (``hear_read``), its caption (``see``), and the readers'
and models' notes. Every function works inside the caller's transaction (flushes, never commits).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from video_qa.models import VIDEO_LEVEL, Clip, Moment, MomentEmbedding, MomentKind, Video
from video_qa.moments.values import FinalizeInputs, NewMoment, pack_embedding, unpack_embedding


def replace_moments(
    session: Session, video_id: int, clip_id: int | None, clip_index: int, kind: str, moments: list[NewMoment]
) -> int:
    session.execute(
        delete(Moment).where(Moment.video_id == video_id, Moment.clip_index == clip_index, Moment.kind == kind)
    )
    ordered = sorted(moments, key=lambda m: (m.start, m.end, m.text))
    for seq, m in enumerate(ordered):
        start = max(0.0, float(m.start))
        session.add(Moment(
            video_id=video_id, clip_id=clip_id, clip_index=clip_index, kind=kind, seq=seq,
            start=start, end=max(start, float(m.end)), text=m.text, meta=m.meta or None,
            vector=None if m.embedding is None else MomentEmbedding(embedding=pack_embedding(m.embedding)),
        ))
    session.flush()
    return len(ordered)


def add_notes(session: Session, clip_id: int, notes: list[str]) -> None:
    """Add what the readers and models reported to the clip's notes (each note once)."""
    clip = session.get(Clip, clip_id)
    if clip is not None and notes:
        clip.notes = list(dict.fromkeys([*(clip.notes or []), *notes]))


def store_heard_read(session: Session, video_id: int, clip_id: int, clip_index: int, speech: list[NewMoment],
                     text: list[NewMoment], cuts: list[list[float]], notes: list[str]) -> tuple[int, int]:
    """A ``hear_read`` part's results: its speech and text moments, its scene cuts
    ([[time, uncertainty]], on the clip row) and notes; returns (speech, text) counts."""
    n_speech = replace_moments(session, video_id, clip_id, clip_index, MomentKind.speech.value, speech)
    n_text = replace_moments(session, video_id, clip_id, clip_index, MomentKind.text.value, text)
    clip = session.get(Clip, clip_id)
    if clip is not None:
        clip.scene_cuts = cuts
    add_notes(session, clip_id, notes)
    return n_speech, n_text


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


def finalize_inputs(session: Session, video_id: int) -> FinalizeInputs:
    """Every clip part's results of the video: text and speech moments (with their embeddings) in
    time order, the clips' scene cuts in time order, and their captions."""
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"video {video_id} is gone")
    clips = list(session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index)))
    rows = session.scalars(
        select(Moment).options(selectinload(Moment.vector))
        .where(Moment.video_id == video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]))
        .order_by(Moment.start, Moment.clip_index, Moment.seq)
    ).all()
    cuts = sorted(cut for c in clips for cut in (c.scene_cuts or []))
    duration = video.duration if video.duration else max((c.end for c in clips), default=0.0)
    return FinalizeInputs(
        duration, {c.index: c.id for c in clips},
        [_new(m) for m in rows if m.kind == MomentKind.text.value],
        [_new(m) for m in rows if m.kind == MomentKind.speech.value], cuts,
        [(c.start, c.end, c.caption) for c in clips if c.caption])


def store_text(session: Session, video_id: int, clips: dict[int, int], text: list[NewMoment]) -> int:
    """Rewrite the video's text moments with the stitched ones, each under the clip it starts in."""
    by_clip: dict[int, list[NewMoment]] = {index: [] for index in clips}
    for m in text:
        by_clip.setdefault(int(m.meta.get("clips", [0])[0]), []).append(m)
    return sum(replace_moments(session, video_id, clips.get(index), index, MomentKind.text.value, moments)
               for index, moments in by_clip.items())


def store_finalized(session: Session, video: Video, clips: dict[int, int], text: list[NewMoment],
                    chapters: list[NewMoment], summary: str) -> int:
    """Finalize's results: the stitched text moments, the chapters (video-level) and the video's
    summary; returns the text moments' count."""
    n_text = store_text(session, video.id, clips, text)
    replace_moments(session, video.id, None, VIDEO_LEVEL, MomentKind.chapter.value, chapters)
    video.summary = summary
    return n_text
