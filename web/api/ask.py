"""/api/v1/videos/{id}/ask: a question about one video, answered with the moments it rests on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from video_qa.analyzers import get_backends
from video_qa.media.errors import MediaError
from video_qa.services import questions
from video_qa.services.videos import VideoFailed
from web.api.deps import EngineDep, SendAskDep, SettingsDep, VideoFileDep
from web.api.schemas import AskAnswer
from web.urls import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["questions"])


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


# exclude_unset: a cited moment has no score, id or uncertainty, and its JSON has no such keys
@router.post("/videos/{video_id}/ask", response_model=AskAnswer, response_model_exclude_unset=True)
def ask_video(video: VideoFileDep, body: AskBody, engine: EngineDep, settings: SettingsDep,
              send_ask: SendAskDep) -> dict[str, Any]:
    """Answered by a worker of the gpu queue in server mode (this waits for it, holding no database
    session), else here; 409 when the video failed, cannot be read or the answer failed, 504 past the time
    limit (the answer may still be stored later)."""
    try:
        result = questions.ask(engine, settings, send_ask, video.id, body.question, lambda: get_backends(settings))
    except VideoFailed as error:  # before ValueError, which it is
        raise HTTPException(status_code=409, detail=error.nothing_to("ask about")) from error
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    except (MediaError, questions.AnswerFailed) as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    except questions.AnswerTimedOut as error:
        raise HTTPException(status_code=504, detail=str(error)) from error
    return result.to_dict()
