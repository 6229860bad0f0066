"""SQLAlchemy 2.0 typed models: videos, jobs, clips, moments (and their text and image
embeddings), the work ledger, questions.

Times inside a video are float seconds from the start of the stream (presentation time).
Wall-clock timestamps are timezone-aware UTC on every backend (``UTCDateTime``).
Every schema change here needs an Alembic revision in ``migrations/versions``; a test compares
the migrated schema with this metadata.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


VIDEO_LEVEL = -1  # the clip_index of video-level work items (ingest, finalize) and moments (chapters)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VideoStatus(str, enum.Enum):
    pending = "pending"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ClipStatus(str, enum.Enum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class ItemStatus(str, enum.Enum):
    waiting = "waiting"  # finalize, until every clip item is done
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ItemPart(str, enum.Enum):
    ingest = "ingest"  # probe, plan, store clips, fan out (clip_index -1)
    hear_read = "hear_read"  # cpu queue: audio -> speech, sampled frames -> on-screen text, embeddings
    see = "see"  # gpu queue: frames -> the vision-language model
    look = "look"  # cpu queue: sampled frames -> visual moments only (re-ingest of an archive made before them)
    finalize = "finalize"  # summary and chapters (clip_index -1)


class MomentKind(str, enum.Enum):
    event = "event"
    speech = "speech"
    text = "text"
    chapter = "chapter"
    visual = "visual"  # a shot (cut to cut, or a part of a long shot): what was seen


def _in(column: str, values: type[enum.Enum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Video(TimestampMixin, Base):
    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint(_in("status", VideoStatus), name="status"),
        CheckConstraint("duration IS NULL OR duration >= 0", name="duration_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes; hours of video exceed 2**31
    duration: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(64))
    has_audio: Mapped[bool | None]
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.pending.value, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # media.Probe.to_dict()
    # the file's modification time (POSIX seconds) when it was last analysed; with ``size``, how a
    # file changed on disk after its analysis is noticed
    file_mtime: Mapped[float | None] = mapped_column(Float)

    jobs: Mapped[list[Job]] = relationship(back_populates="video", cascade="all, delete-orphan", passive_deletes=True)
    clips: Mapped[list[Clip]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True, order_by="Clip.index"
    )
    moments: Mapped[list[Moment]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True, order_by="Moment.start"
    )


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JobStatus), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued.value, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last progress write (throttle)

    video: Mapped[Video] = relationship(back_populates="jobs")


class Clip(Base):
    __tablename__ = "clips"
    __table_args__ = (
        UniqueConstraint("video_id", "index"),
        CheckConstraint(_in("status", ClipStatus), name="status"),
        CheckConstraint('"end" > start AND start >= 0', name="span"),
        CheckConstraint("sample_fps > 0 AND frames >= 1", name="sampling"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    sample_fps: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    token_estimate: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=ClipStatus.pending.value)
    model: Mapped[str | None] = mapped_column(String(200))
    caption: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[list[str] | None] = mapped_column(JSON)  # what the readers and models reported
    # [[time, uncertainty]] of the hard cuts between the hear_read part's sampled frames (finalize
    # makes chapter boundaries of them); None until that part has run
    scene_cuts: Mapped[list[list[float]] | None] = mapped_column(JSON)

    video: Mapped[Video] = relationship(back_populates="clips")
    moments: Mapped[list[Moment]] = relationship(back_populates="clip", passive_deletes=True)


class Moment(Base):
    """Anything the video showed, said or wrote, with its span in stream seconds.

    Keyed by (video_id, clip_index, kind, seq) so a repeated task rewrites the same rows;
    ``clip_index`` is ``VIDEO_LEVEL`` (-1) for video-level moments (chapters).
    """

    __tablename__ = "moments"
    __table_args__ = (
        UniqueConstraint("video_id", "clip_index", "kind", "seq"),
        CheckConstraint(_in("kind", MomentKind), name="kind"),
        CheckConstraint('"end" >= start AND start >= 0', name="span"),
        Index("ix_moments_video_id_start", "video_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    clip_index: Mapped[int] = mapped_column(Integer, default=-1)
    kind: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    video: Mapped[Video] = relationship(back_populates="moments")
    clip: Mapped[Clip | None] = relationship(back_populates="moments")
    vector: Mapped[MomentEmbedding | None] = relationship(
        back_populates="moment", cascade="all, delete-orphan", passive_deletes=True
    )
    image_vector: Mapped[VisualEmbedding | None] = relationship(
        back_populates="moment", cascade="all, delete-orphan", passive_deletes=True
    )


class MomentEmbedding(Base):
    """A moment's text embedding, in its own table: 1.5 kB of float32 beside ~100 bytes of text
    would make the moments rows 17x wider, and PostgreSQL's full-text search read a page from disk
    or the OS cache for nearly every match it ranks."""

    __tablename__ = "moment_embeddings"

    moment_id: Mapped[int] = mapped_column(ForeignKey("moments.id", ondelete="CASCADE"), primary_key=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)

    moment: Mapped[Moment] = relationship(back_populates="vector")


class VisualEmbedding(Base):
    """A visual moment's image embedding (its keyframe), in its own vector space: ``dim`` float32
    components (``embedding``, the bytes of a unit row) made by ``model``. The dimension differs
    from the text embeddings' and between image models (an image-text model's image tower, or the
    ImageNet classifier's pooled features where no image-text model is configured), so the model's
    name is kept with every vector and search compares only vectors of one model."""

    __tablename__ = "visual_embeddings"

    moment_id: Mapped[int] = mapped_column(ForeignKey("moments.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)

    moment: Mapped[Moment] = relationship(back_populates="image_vector")


class WorkItem(Base):
    """One unit of pipeline work and its state: the ledger that makes the pipeline resumable.

    Keyed by (video_id, clip_index, part); ``clip_index`` is ``VIDEO_LEVEL`` (-1) for the
    video-level parts.
    A Celery message only says "look at this item"; whether to run, skip or take over is decided
    here, so redelivered or repeated messages are harmless. ``settings_key`` is the hash of the
    settings the part's result depends on: re-ingesting with the same settings skips done items.
    ``takeovers`` counts how often the item was taken from a holder that died since it was last
    requested (the poison limit reads it); ``attempts`` counts claims, for the record only.
    """

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("video_id", "clip_index", "part"),
        CheckConstraint(_in("status", ItemStatus), name="status"),
        CheckConstraint(_in("part", ItemPart), name="part"),
        Index("ix_work_items_status_worker", "status", "worker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    clip_index: Mapped[int] = mapped_column(Integer)
    part: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.queued.value)
    settings_key: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    takeovers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # seconds per stage, counts (a record only)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkerProcess(Base):
    """A live worker, as it reports itself: heartbeats tell recovery which claims are orphaned."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[str] = mapped_column(String(200))
    embedded: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QuestionStatus(str, enum.Enum):
    queued = "queued"  # waiting for a worker (an ask that needs the vision-language model)
    running = "running"
    done = "done"
    failed = "failed"


class Question(Base):
    """A question asked about a video and the answer given, with the moments it cited.

    An ask answered in the web process is stored ``done``; one handed to a worker is stored
    ``queued`` and filled in by it (``started_at``, ``finished_at``, ``error`` when it failed,
    ``meta``: what the run reported, such as the readers' notes).
    """

    __tablename__ = "questions"
    __table_args__ = (CheckConstraint(_in("status", QuestionStatus), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)  # None: no model wrote an answer
    model: Mapped[str | None] = mapped_column(String(200))
    moments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.done.value,
                                        server_default=QuestionStatus.done.value)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the answering run reported (notes, model)


# Full-text search lives beside the tables (migration 0003): SQLite's FTS5 table and its triggers,
# PostgreSQL's GIN index on to_tsvector('english', text). Schema comparison skips them.
FTS_TABLE = "moments_fts"
PG_FTS_INDEX = "ix_moments_text_tsv"  # migration 0003 (expression index), replaced in 0004
PG_TSV_COLUMN, PG_TSV_INDEX = "text_tsv", "ix_moments_text_tsv_stored"  # migration 0004 (stored column)


def is_search_object(name: str | None) -> bool:
    return bool(name) and (name.startswith(FTS_TABLE) or name in (PG_FTS_INDEX, PG_TSV_COLUMN, PG_TSV_INDEX))
