"""The Gradio app (Blocks), mounted at ``/`` beside the JSON API by ``web.server``.

Three tabs: Upload & Ask (upload, live ingest progress polled from the database, chat whose
answers cite clickable moments), Library (every video, a player, chapters, a timeline of moments
by kind, downloads, retry of failed videos) and Search (one box over the archive). What each user
has chosen lives in ``gr.State``; nothing here keeps module-level mutable state. Handlers are
plain functions over a unit of work, run in Gradio's thread pool, so a long ingest (in a worker)
never blocks the page. Rendering is in ``web.render`` (all text escaped); seeking is the small
script ``web/static/seek.js``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from sqlalchemy import Engine, select

from video_qa.analyzers import get_backends, get_embedder, vlm_source
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.export import moment_dict
from video_qa.media.errors import MediaError
from video_qa.models import Moment, Video
from video_qa.pipeline import request_ingest
from video_qa.registry import RegistrationRefused
from video_qa.search import KINDS, Filters, search
from web import render
from web.api import video_dict
from web.intake import Send, UploadRefused, store_upload

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 1.0
LIBRARY_POLL_SECONDS = 5.0
TERMINAL = ("ready", "failed")


def model_notice(settings: Settings) -> str | None:
    """What the banner says about the vision-language model, or None when a real one is configured."""
    from model.tiny import is_tiny

    if not settings.vlm_model:
        return ("No vision-language model is configured (VIDEOQA_VLM_MODEL is empty): videos are indexed by "
                "speech and on-screen text only, and answers list the best-matching moments without written text.")
    source = vlm_source(settings)
    if source.kind == "folder" and is_tiny(source.location):
        return ("Test model in use: a tiny random-weight Qwen2.5-VL. Its answers and event descriptions are "
                "meaningless text; times, speech and on-screen text are real.")
    return None


def head_html() -> str:
    """The seek script and the style sheet, inlined into the page's head."""
    return (f"<script>{(STATIC / 'seek.js').read_text()}</script>"
            f"<style>{(STATIC / 'app.css').read_text()}</style>")


def new_state() -> dict[str, Any]:
    return {"video_id": None, "history": []}


@dataclass
class Handlers:
    """The app's event handlers over one engine; per-user data comes in and goes out as gr.State."""

    settings: Settings
    engine: Engine
    send: Send

    # ---- rows

    def _videos(self) -> list[dict[str, Any]]:
        with unit_of_work(self.engine) as session:
            return [{"id": v.id, "title": v.title, "status": v.status, "duration": v.duration, "error": v.error,
                     "summary": v.summary} for v in session.scalars(select(Video).order_by(Video.id.desc()))]

    def _choices(self, videos: list[dict[str, Any]] | None = None, only_ready: bool = False) -> list[tuple[str, int]]:
        return [(f'{v["title"]} (#{v["id"]}, {v["status"]})', v["id"]) for v in (self._videos() if videos is None else videos)
                if not only_ready or v["status"] == "ready"]

    def _video(self, video_id: int) -> dict[str, Any] | None:
        with unit_of_work(self.engine) as session:
            v = session.get(Video, video_id)
            return None if v is None else video_dict(session, v)

    def _moments(self, video_id: int) -> list[dict[str, Any]]:
        with unit_of_work(self.engine) as session:
            rows = session.scalars(select(Moment).where(Moment.video_id == video_id)
                                   .order_by(Moment.start, Moment.kind, Moment.seq))
            return [moment_dict(m) for m in rows]

    def _progress(self, video: dict[str, Any] | None) -> str:
        if video is None:
            return '<div class="vqa-progress vqa-empty">No video yet.</div>'
        return render.progress(video["status"], video["stage"], video["progress"], video["error"], video["title"])

    # ---- Upload & Ask

    def upload(self, path: str | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not path:
            return state, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        source = Path(path)
        try:
            reg = store_upload(self.engine, self.settings, self.send, source, source.name)
        except UploadRefused as error:
            log.warning("upload refused: %s", error)
            return state, render.progress("failed", "", 0.0, str(error)), gr.skip(), gr.skip(), gr.Timer(active=False)
        except (RegistrationRefused, OSError) as error:
            log.warning("upload %s refused: %s", source.name, error)
            return (state, render.progress("failed", "", 0.0, f"{source.name}: {error}"), gr.skip(), gr.skip(),
                    gr.Timer(active=False))
        log.info("video %d: uploaded through the web app (%s)", reg.video_id, source.name)
        return self._open(reg.video_id)

    def pick(self, video_id: int | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not video_id:
            return state, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self._open(int(video_id))

    def _open(self, video_id: int) -> tuple[Any, ...]:
        video = self._video(video_id)
        state = {"video_id": video_id, "history": []}
        title = video["title"] if video else None
        active = video is not None and video["status"] not in TERMINAL
        return (state, self._progress(video), render.player(video_id, title, "ask"),
                render.conversation([], video_id, "ask"), gr.Timer(active=active))

    def poll(self, state: dict[str, Any]) -> tuple[Any, ...]:
        video_id = state.get("video_id")
        video = self._video(video_id) if video_id else None
        done = video is None or video["status"] in TERMINAL
        return self._progress(video), gr.Timer(active=not done), self.ready_choices() if done else gr.skip()

    def ready_choices(self) -> Any:
        return gr.Dropdown(choices=self._choices(only_ready=True))

    def ask(self, question: str, state: dict[str, Any]) -> tuple[Any, ...]:
        from video_qa.ask import ask

        video_id = state.get("video_id")
        question = (question or "").strip()
        if not video_id:
            gr.Warning("Upload a video or pick one from the library first.")
            return state, gr.skip(), question
        if not question:
            return state, gr.skip(), question
        try:
            with unit_of_work(self.engine) as session:
                result = ask(session, self.engine, self.settings, video_id, question, get_backends(self.settings))
        except (LookupError, ValueError, MediaError) as error:
            turn = {"question": question, "answer": None, "moments": [], "notes": [str(error)]}
        else:
            turn = {"question": question, "answer": result.answer, "moments": result.moments, "notes": result.notes}
        history = [*state.get("history", []), turn]
        state = {**state, "history": history}
        return state, render.conversation(history, video_id, "ask"), ""

    # ---- Library

    def library(self, selected: int | None) -> tuple[Any, ...]:
        videos = self._videos()
        choices = self._choices(videos)
        value = selected if selected in {v["id"] for v in videos} else None
        return render.library_table(videos), gr.Dropdown(choices=choices, value=value)

    def library_table(self) -> str:
        return render.library_table(self._videos())

    def select(self, video_id: int | None, start: float | None = None) -> tuple[Any, ...]:
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return render.player(None, None, "library"), "", gr.Button(visible=False)
        moments = self._moments(video["id"])
        return (render.player(video["id"], video["title"], "library", start),
                render.video_detail(video, moments, "library"), gr.Button(visible=video["status"] == "failed"))

    def retry(self, video_id: int | None) -> tuple[Any, ...]:
        if not video_id:
            return gr.skip(), gr.skip(), gr.skip()
        with unit_of_work(self.engine) as session:
            _, refs = request_ingest(session, int(video_id), self.settings)
        self.send(refs)
        log.info("video %s: retry requested from the web app", video_id)
        return self.select(video_id)

    # ---- Search

    def search(self, query: str, kinds: list[str] | None) -> str:
        query = (query or "").strip()
        if not query:
            return render.search_results([], "search", "")
        with unit_of_work(self.engine) as session:
            hits = search(session, self.engine, query, get_embedder(self.settings), Filters(kinds=tuple(kinds or ())),
                          limit=20)
            return render.search_results([h.to_dict() for h in hits], "search", query)


def build_ui(settings: Settings, engine: Engine, send: Send) -> gr.Blocks:
    h = Handlers(settings, engine, send)
    notice = model_notice(settings)
    with gr.Blocks(title="VideoQA", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as ui:
        state = gr.State(new_state())
        gr.HTML(f'<div class="vqa-banner" role="status">{render.esc(notice)}</div>' if notice else "",
                visible=bool(notice), elem_id="vqa-banner")
        with gr.Tabs(elem_id="vqa-tabs"):
            with gr.Tab("Upload & Ask", id="ask", elem_id="tab-ask"):
                with gr.Row():
                    with gr.Column(scale=1):
                        upload = gr.File(label="Upload a video", file_types=["video"], type="filepath",
                                         elem_id="vqa-upload")
                        pick = gr.Dropdown(label="…or ask about a video already in the library", choices=[],
                                           value=None, elem_id="vqa-pick")
                        progress = gr.HTML('<div class="vqa-progress vqa-empty">No video yet.</div>',
                                           elem_id="vqa-ask-progress")
                    with gr.Column(scale=2):
                        ask_player = gr.HTML(render.player(None, None, "ask"), elem_id="vqa-ask-player")
                chat = gr.HTML(render.conversation([], None, "ask"), elem_id="vqa-chat")
                with gr.Row():
                    question = gr.Textbox(label="Question", placeholder="What is said about the budget?", scale=5,
                                          elem_id="vqa-question")
                    ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="vqa-ask")
                timer = gr.Timer(POLL_SECONDS, active=False)
            with gr.Tab("Library", id="library", elem_id="tab-library") as library_tab:
                with gr.Row():
                    choose = gr.Dropdown(label="Video", choices=[], value=None, scale=4, elem_id="vqa-choose")
                    refresh = gr.Button("Refresh", scale=1, elem_id="vqa-refresh")
                with gr.Row():
                    with gr.Column(scale=3):
                        library_player = gr.HTML(render.player(None, None, "library"), elem_id="vqa-library-player")
                    with gr.Column(scale=2):
                        detail = gr.HTML("", elem_id="vqa-detail")
                        retry = gr.Button("Retry", visible=False, variant="secondary", elem_id="vqa-retry")
                table = gr.HTML("", elem_id="vqa-library-table")
                library_timer = gr.Timer(LIBRARY_POLL_SECONDS)
            with gr.Tab("Search", id="search", elem_id="tab-search"):
                with gr.Row():
                    query = gr.Textbox(label="Search every video", placeholder="quarterly budget", scale=5,
                                       elem_id="vqa-query")
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="vqa-search")
                kinds = gr.CheckboxGroup(list(KINDS), label="Only these kinds (none: all)", elem_id="vqa-kinds")
                with gr.Row():
                    with gr.Column(scale=3):
                        results = gr.HTML(render.search_results([], "search", ""), elem_id="vqa-results",
                                          max_height=720)
                    with gr.Column(scale=2):
                        gr.HTML(render.player(None, None, "search"), elem_id="vqa-search-player")

        opened = [state, progress, ask_player, chat, timer]
        upload.upload(h.upload, [upload, state], opened)
        ui.load(h.ready_choices, None, pick)
        pick.input(h.pick, [pick, state], opened)
        timer.tick(h.poll, state, [progress, timer, pick], show_progress="hidden")
        for trigger in (ask_button.click, question.submit):
            trigger(h.ask, [question, state], [state, chat, question])

        library_outputs = [table, choose]
        ui.load(h.library, choose, library_outputs)
        library_tab.select(h.library, choose, library_outputs)
        refresh.click(h.library, choose, library_outputs)
        library_timer.tick(h.library_table, None, table, show_progress="hidden")
        choose.input(h.select, choose, [library_player, detail, retry])
        refresh.click(h.select, choose, [library_player, detail, retry])
        retry.click(h.retry, choose, [library_player, detail, retry])

        for trigger in (go.click, query.submit):
            trigger(h.search, [query, kinds], results)
    return ui
