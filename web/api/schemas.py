"""The JSON the API answers with, as pydantic models: each route names its model, so the OpenAPI
schema documents every response. The routes return the dicts of ``video_qa.services`` as they are;
the models check and describe them (``extra="allow"``: a key a service adds still reaches the
client; ``tests/web/test_api.py`` holds the models to the keys the services write)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from video_qa.models import JobStatus, VideoStatus
from web.api.deps import Kind

SECONDS = "seconds into the video"


class ApiModel(BaseModel):
    """A response model: checks and documents the keys it names, lets others through."""

    model_config = ConfigDict(extra="allow")


class Health(ApiModel):
    status: Literal["ok"]
    workers: int = Field(description="workers alive (an embedded one counts)")


class Video(ApiModel):
    """A video and its analysis status."""

    id: int
    title: str = Field(description="the user's name for the file")
    status: VideoStatus
    duration: float | None = Field(description="seconds that can be read (a truncated file: less than it claims)")
    truncated: bool = Field(description="the file is cut short: its container claims more than it holds")
    claimed_duration: float | None = Field(description="seconds the container claims, for a truncated file")
    notice: str | None = Field(description="a truncated file in the user's words: 'truncated: N s of M s readable'")
    width: int | None
    height: int | None
    codec: str | None
    has_audio: bool | None
    error: str | None = Field(description="why the analysis failed, in the user's words")
    summary: str | None
    created_at: str = Field(description="when it was registered (ISO 8601)", json_schema_extra={"format": "date-time"})
    stage: str = Field(description="the stage of its latest analysis: registered, queued, probing, analyzing, "
                                   "finalizing, ready, ...")
    progress: float = Field(description="parts of the analysis done of all parts, 0 to 1")
    changed_on_disk: bool | None = Field(
        description="the file's size or modification time differs from what was analysed (or it is gone); "
                    "null where not checked (the list of all videos)")


class RegisteredVideo(Video):
    duplicate: bool = Field(description="the same content (SHA-256) was already in the library: this is that video")


class Job(ApiModel):
    id: int
    status: JobStatus
    stage: str
    message: str | None


class VideoJob(ApiModel):
    """A video's analysis status and its latest job."""

    video_id: int
    status: VideoStatus
    stage: str
    progress: float = Field(description="0 to 1")
    error: str | None
    job: Job | None = Field(description="the latest analysis request, null when there is none")


class Moment(ApiModel):
    """Something the video showed, said or wrote, with its span."""

    id: int
    kind: Kind
    clip_index: int = Field(description="the clip it came from; -1 for the whole video (chapters)")
    seq: int = Field(description="its order within the clip and kind")
    start: float = Field(description=SECONDS)
    end: float = Field(description=SECONDS)
    text: str
    meta: dict[str, Any] | None = Field(description="what the recogniser recorded: uncertainty, boxes, words, ...")
    start_uncertainty: float = Field(description="seconds the true start may lie before `start`")
    end_uncertainty: float = Field(description="seconds the true end may lie after `end`")


class ExportedVideo(ApiModel):
    id: int
    title: str
    duration: float | None
    summary: str | None


class MomentsExport(ApiModel):
    """``moments.json``: the video and all its moments."""

    video: ExportedVideo
    moments: list[Moment]


class SearchHit(ApiModel):
    """One search hit (``video_qa.search.Hit.to_dict``), with whether its video's file changed."""

    video_id: int
    title: str
    start: float = Field(description=SECONDS)
    end: float = Field(description=SECONDS)
    kind: str = Field(description="the kind of the best moment: speech, text, event, visual or chapter")
    text: str = Field(description="the moment's text, as it is (moments merged into one hit are joined by ' … ')")
    highlights: list[tuple[int, int]] = Field(
        description="where `text` matches the query's words (compared by English stem, stop words aside "
                    "unless the query has nothing else): [start, end] pairs of offsets into `text`, half-open, "
                    "counted in Unicode code points (not bytes, not UTF-16 units: a JavaScript client converts, "
                    "e.g. with Array.from(text)), sorted and never overlapping. `text` carries no markers.")
    score: float
    moment_ids: list[int]
    kinds: list[str]
    start_uncertainty: float = Field(description="seconds the true start may lie before `start`")
    end_uncertainty: float = Field(description="seconds the true end may lie after `end`")
    changed_on_disk: bool = Field(description="the video's file changed since it was analysed")


class Label(ApiModel):
    """What a shot was recognised as, with the score that decided it."""

    vocab: str = Field(description="imagenet, faces or zero-shot")
    label: str
    score: float


class SimilarQuery(ApiModel):
    """A moment of find similar, the query or a hit: its video and its own times."""

    video_id: int
    title: str
    kind: Kind
    start: float = Field(description=SECONDS)
    end: float = Field(description=SECONDS)
    start_uncertainty: float = Field(description="seconds the true start may lie before `start`")
    end_uncertainty: float = Field(description="seconds the true end may lie after `end`")


class SimilarHit(SimilarQuery):
    """A moment near the query in its vector space (``video_qa.services.similar``), with its own times."""

    moment_id: int
    text: str
    score: float = Field(description="cosine similarity to the query, -1 to 1")
    keyframe: float | None = Field(description="visual moments: the time of the frame that was embedded")
    labels: list[Label] = Field(description="visual moments: the shot's labels, best first")
    changed_on_disk: bool = Field(description="the video's file changed since it was analysed")


class SimilarMoments(ApiModel):
    """Find similar: the query (a moment, or an uploaded image when `moment_id` is null), the vector
    space it was compared in, and the nearest moments, best first."""

    moment_id: int | None
    space: Literal["text", "visual"] = Field(description="visual: image vectors of `model`; text: text embeddings")
    model: str = Field(description="what made the vectors compared: the image model (visual), or the text "
                                   "embedder VIDEOQA_EMBED_MODEL names (text; every moment analysed under it was "
                                   "embedded by it)")
    query: SimilarQuery | None = Field(description="the query moment (null for an uploaded image)")
    hits: list[SimilarHit]


class AnswerMoment(ApiModel):
    """A moment of an answer: one the vision-language model cited (``source`` "cited", ``kind``
    "cited", ``text`` "span N"); one an extractive answer quotes (no vision-language model: the
    moment's own kind, text and id); or one retrieved for the question (its own kind, text, score
    and id)."""

    start: float = Field(description=SECONDS)
    end: float = Field(description=SECONDS)
    start_uncertainty: float | None = Field(None, description="retrieved moments: seconds the start may lie earlier")
    end_uncertainty: float | None = Field(None, description="retrieved moments: seconds the end may lie later")
    kind: str
    text: str
    source: Literal["cited", "retrieved"]
    score: float | None = Field(None, description="retrieved moments: the search score")
    moment_id: int | None = Field(None, description="retrieved moments: the moment's id")


class AskAnswer(ApiModel):
    """The answer to a question about one video, with the moments it rests on."""

    question_id: int | None = Field(description="the stored question (server mode), null when answered in process")
    answer: str | None = Field(description="the model's text; null without a vision-language model")
    model: str | None
    test_model: bool = Field(description="written by the tiny random-weight test model: meaningless text")
    moments: list[AnswerMoment] = Field(description="the cited moments first, then the retrieved ones")
    notes: list[str]
