"""The Gradio app (Blocks), mounted at ``/`` beside the JSON API by ``web.server``.

Three tabs: Upload & Ask (upload, live ingest progress polled from the database, chat whose
answers cite clickable moments), Library (every video, a player, chapters, a timeline of moments
by kind, downloads, retry of failed videos) and Search (one box over the archive). What each user
has chosen lives in ``gr.State``; nothing here keeps module-level mutable state. Handlers are
plain functions over the shared use cases of ``video_qa.services`` (the same ones the JSON API
calls), run in Gradio's thread pool, so a long ingest (in a worker) never blocks the page.
Rendering is in ``web.render`` (Jinja2 templates, autoescaped); seeking is the small script
``web/static/seek.js``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from sqlalchemy import Engine

from model.tiny import is_tiny
from video_qa.analyzers import get_backends, get_embedder, vlm_source
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.registry import RegistrationRefused
from video_qa.search import KINDS, Filters
from video_qa.services import intake, questions
from video_qa.services.intake import Send, UploadRefused
from video_qa.services.questions import AnswerFailed, AnswerTimedOut, SendAsk
from video_qa.services.videos import (VideoNotFound, count_videos, list_videos, open_video, search_hits, video_moments,
                                      video_titles)
from web import render

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 1.0
LIBRARY_POLL_SECONDS = 5.0
PAGE_SIZE = 50  # library rows per page
STATUSES = ("ready", "processing", "pending", "failed")
# the library table: a click (or Enter) on a row sends its video's id to ``Handlers.open_row``
OPEN_ROW_JS = """
const open = (row) => { if (row && row.dataset.video) trigger('click', {video: row.dataset.video}); };
element.addEventListener('click', (e) => open(e.target.closest && e.target.closest('tr[data-open]')));
element.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') { const row = e.target.closest && e.target.closest('tr[data-open]');
    if (row) { e.preventDefault(); open(row); } }
});
"""
TERMINAL = ("ready", "failed")


def model_notice(settings: Settings) -> str | None:
    """What the banner says about the vision-language model, or None when a real one is configured."""
    if not settings.vlm_model:
        return ("No vision-language model is configured (VIDEOQA_VLM_MODEL is empty): videos are indexed by "
                "speech and on-screen text only, and answers list the best-matching moments without written text.")
    source = vlm_source(settings)
    if source.kind == "folder" and is_tiny(source.location):
        return ("Test model in use: a tiny random-weight Qwen2.5-VL. Its answers and event descriptions are "
                "meaningless text; times, speech and on-screen text are real.")
    return None


def banner_html(notice: str) -> str:
    """The model banner, collapsible (a phone can fold it to one line)."""
    heading = "Test model in use" if notice.startswith("Test model") else "No vision-language model"
    return render.banner(heading, notice)


def head_html() -> str:
    """The seek script and the style sheet, inlined into the page's head."""
    return render.head((STATIC / 'seek.js').read_text(), (STATIC / 'app.css').read_text())


def new_state() -> dict[str, Any]:
    return {"video_id": None, "history": []}


@dataclass
class Handlers:
    """The app's event handlers over one engine; per-user data comes in and goes out as gr.State."""

    settings: Settings
    engine: Engine
    send: Send
    send_ask: SendAsk | None = None  # None: questions are answered in this process

    # ---- rows

    def _page(self, text: str | None, status: str | None, page: int) -> tuple[list[dict[str, Any]], int, int]:
        """A library page (newest first), the number of videos matching, and the page actually shown."""
        status = status if status in STATUSES else None
        with unit_of_work(self.engine) as session:
            total = count_videos(session, text, status)
            page = max(0, min(int(page or 0), max(0, (total - 1) // PAGE_SIZE)))
            videos = list_videos(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE,
                                 text=text, status=status)
        return videos, total, page

    def _choices(self, only_ready: bool = False) -> list[tuple[str, int]]:
        with unit_of_work(self.engine) as session:
            rows = video_titles(session, "ready" if only_ready else None)
        return [(f"{title} (#{vid}, {status})", vid) for vid, title, status in rows]

    def _video(self, video_id: int) -> dict[str, Any] | None:
        """The video with its file checked against what was analysed, or None."""
        try:
            with unit_of_work(self.engine) as session:
                return open_video(session, video_id)
        except VideoNotFound:
            return None

    def _moments(self, video_id: int) -> list[dict[str, Any]]:
        with unit_of_work(self.engine) as session:
            return video_moments(session, video_id)

    def _progress(self, video: dict[str, Any] | None, note: str | None = None) -> str:
        if video is None:
            return render.no_progress()
        return render.progress(video["status"], video["stage"], video["progress"], video["error"], video["title"], note)

    def empty_lanes(self, video: dict[str, Any]) -> dict[str, str]:
        """Why a lane of the timeline has nothing in it, in the user's words."""
        if video["status"] != "ready":
            waiting = "not analysed yet"
            return {"event": waiting, "speech": waiting, "text": waiting}
        speech_off = (self.settings.speech_model or "").lower() in ("", "off", "none")
        return {"event": "no events found" if self.settings.vlm_model else "no vision model configured",
                "speech": ("speech recognition is off" if speech_off else
                           "no audio track" if video.get("has_audio") is False else "no speech found"),
                "text": "no on-screen text found" if self.settings.ocr else "on-screen text reading is off"}

    # ---- Upload & Ask

    def upload(self, path: str | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not path:
            return state, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        source = Path(path)
        try:
            reg = intake.store_upload(self.engine, self.settings, self.send, source, source.name)
        except UploadRefused as error:
            log.warning("upload refused: %s", error)
            return state, render.progress("failed", "", 0.0, str(error)), gr.skip(), gr.skip(), gr.Timer(active=False), None
        except (RegistrationRefused, OSError) as error:
            log.warning("upload %s refused: %s", source.name, error)  # the server's paths: for the log only
            reason = error.reason if isinstance(error, RegistrationRefused) else "it could not be stored"
            return (state, render.progress("failed", "", 0.0, f"{source.name}: {reason}"), gr.skip(), gr.skip(),
                    gr.Timer(active=False), None)
        log.info("video %d: uploaded through the web app (%s)", reg.video_id, source.name)
        note = f"{source.name} is already in the library as #{reg.video_id}: opened it." if reg.duplicate else None
        return (*self._open(reg.video_id, note), gr.skip())

    def pick(self, video_id: int | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not video_id:
            return state, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self._open(int(video_id))

    def _open(self, video_id: int, note: str | None = None) -> tuple[Any, ...]:
        video = self._video(video_id)
        state = {"video_id": video_id, "history": []}
        title = video["title"] if video else None
        active = video is not None and video["status"] not in TERMINAL
        return (state, self._progress(video, note),
                render.player(video_id, title, "ask", status=video and video["status"], error=video and video["error"]),
                render.conversation([], video_id, "ask"), gr.Timer(active=active))

    def poll(self, state: dict[str, Any]) -> tuple[Any, ...]:
        video_id = state.get("video_id")
        video = self._video(video_id) if video_id else None
        done = video is None or video["status"] in TERMINAL
        return self._progress(video), gr.Timer(active=not done), self.ready_choices() if done else gr.skip()

    def ready_choices(self) -> Any:
        return gr.Dropdown(choices=self._choices(only_ready=True))

    def ask(self, question: str, state: dict[str, Any]) -> tuple[Any, ...]:
        video_id = state.get("video_id")
        question = (question or "").strip()
        if not video_id:
            gr.Warning("Upload a video or pick one from the library first.")
            return state, gr.skip(), question
        if not question:
            return state, gr.skip(), question
        try:
            result = questions.ask(self.engine, self.settings, self.send_ask, video_id, question,
                                   lambda: get_backends(self.settings))
        except (LookupError, ValueError, MediaError, AnswerFailed, AnswerTimedOut) as error:
            turn = {"question": question, "answer": None, "moments": [], "notes": [str(error)]}
        else:
            turn = {"question": question, "answer": result.answer, "moments": result.moments, "notes": result.notes}
        history = [*state.get("history", []), turn]
        state = {**state, "history": history}
        return state, render.conversation(history, video_id, "ask"), ""

    # ---- Library

    def library(self, selected: int | None, text: str | None = None, status: str | None = None,
                page: int = 0) -> tuple[Any, ...]:
        """The library page (filter, page) as a table, the picker's choices (this page), the page."""
        videos, total, page = self._page(text, status, page)
        choices = [(f'{v["title"]} (#{v["id"]}, {v["status"]})', v["id"]) for v in videos]
        ids = {v["id"] for v in videos}
        if selected and selected not in ids:
            choices.append((f"#{selected}", selected))
        table = render.library_table(videos, total, page * PAGE_SIZE, bool(text or status in STATUSES))
        return table, gr.Dropdown(choices=choices, value=selected or None), page

    def first_load(self, selected: int | None, text: str | None = None, status: str | None = None) -> tuple[Any, ...]:
        """At page load, in one round trip: the library's first page and the ready videos to ask about."""
        return (*self.library(selected, text, status, 0), self.ready_choices())

    def library_table(self, text: str | None = None, status: str | None = None, page: int = 0) -> str:
        videos, total, page = self._page(text, status, page)
        return render.library_table(videos, total, page * PAGE_SIZE, bool(text or status in STATUSES))

    def filtered(self, selected: int | None, text: str | None, status: str | None) -> tuple[Any, ...]:
        return self.library(selected, text, status, 0)

    def next_page(self, selected: int | None, text: str | None, status: str | None, page: int) -> tuple[Any, ...]:
        return self.library(selected, text, status, int(page or 0) + 1)

    def prev_page(self, selected: int | None, text: str | None, status: str | None, page: int) -> tuple[Any, ...]:
        return self.library(selected, text, status, int(page or 0) - 1)

    def select(self, video_id: int | None, start: float | None = None) -> tuple[Any, ...]:
        """The player, the detail, the Retry button and whether to keep polling the video's status."""
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return render.player(None, None, "library"), "", gr.Button(visible=False), gr.Timer(active=False)
        moments = self._moments(video["id"])
        label = "Re-analyse" if video["changed_on_disk"] else "Retry"
        return (render.player(video["id"], video["title"], "library", start, video["status"], video["error"]),
                render.video_detail(video, moments, "library", self.empty_lanes(video)),
                gr.Button(label, visible=video["status"] == "failed" or bool(video["changed_on_disk"])),
                gr.Timer(active=video["status"] not in TERMINAL))

    def open_row(self, evt: gr.EventData) -> tuple[Any, ...]:
        """A click on a library row: the table's script sends ``{"video": id}`` with a ``click``."""
        head = str((getattr(evt, "_data", None) or {}).get("video", ""))
        if not head.isdigit() or len(head) > 9:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        video_id = int(head)
        return (*self.select(video_id), gr.update(value=video_id))

    def watch(self, video_id: int | None) -> tuple[Any, ...]:
        """While the opened video is being analysed (after Retry): its detail, then once it is ready
        or failed again, its player and Retry button too, and the polling stops."""
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=False)
        if video["status"] in TERMINAL:
            return self.select(video["id"])
        return (gr.skip(), render.video_detail(video, self._moments(video["id"]), "library", self.empty_lanes(video)),
                gr.skip(), gr.Timer(active=True))

    def retry(self, video_id: int | None) -> tuple[Any, ...]:
        """Retry a failed video, or analyse again a file that changed on disk."""
        if not video_id:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            intake.retry(self.engine, self.settings, self.send, int(video_id))
        except VideoNotFound:
            log.info("video %s: retry asked for a video that is gone", video_id)
        return self.select(video_id)

    # ---- Search

    def search(self, query: str, kinds: list[str] | None) -> str:
        query = (query or "").strip()
        if not query:
            return render.search_results([], "search", "")
        with unit_of_work(self.engine) as session:
            hits = search_hits(session, self.engine, query, get_embedder(self.settings),
                               Filters(kinds=tuple(kinds or ())), limit=20)
        return render.search_results(hits, "search", query)


def build_ui(settings: Settings, engine: Engine, send: Send, send_ask: SendAsk | None = None) -> gr.Blocks:
    h = Handlers(settings, engine, send, send_ask)
    notice = model_notice(settings)
    with gr.Blocks(title="VideoQA", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as ui:
        state = gr.State(new_state())
        gr.HTML(banner_html(notice) if notice else "", visible=bool(notice), elem_id="vqa-banner")
        with gr.Tabs(elem_id="vqa-tabs"):
            with gr.Tab("Upload & Ask", id="ask", elem_id="tab-ask"):
                with gr.Row():
                    with gr.Column(scale=1):
                        upload = gr.File(label="Upload a video", file_types=["video"], type="filepath",
                                         elem_id="vqa-upload")
                        pick = gr.Dropdown(label="…or ask about a video already in the library", choices=[],
                                           value=None, elem_id="vqa-pick")
                        progress = gr.HTML(render.no_progress(), elem_id="vqa-ask-progress")
                    with gr.Column(scale=2):
                        ask_player = gr.HTML(render.player(None, None, "ask"), elem_id="vqa-ask-player")
                chat = gr.HTML(render.conversation([], None, "ask"), elem_id="vqa-chat")
                with gr.Row():
                    question = gr.Textbox(label="Question", placeholder="What is said about the budget?", scale=5,
                                          elem_id="vqa-question")
                    ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="vqa-ask")
                timer = gr.Timer(POLL_SECONDS, active=False)
            with gr.Tab("Library", id="library", elem_id="tab-library") as library_tab:
                page = gr.State(0)
                with gr.Row():
                    choose = gr.Dropdown(label="Video", choices=[], value=None, scale=4, elem_id="vqa-choose")
                    refresh = gr.Button("Refresh", scale=1, elem_id="vqa-refresh")
                with gr.Row():
                    with gr.Column(scale=3):
                        library_player = gr.HTML(render.player(None, None, "library"), elem_id="vqa-library-player")
                    with gr.Column(scale=2):
                        detail = gr.HTML("", elem_id="vqa-detail")
                        retry = gr.Button("Retry", visible=False, variant="secondary", elem_id="vqa-retry")
                with gr.Row():
                    filter_text = gr.Textbox(label="Filter by title or #id", scale=3, elem_id="vqa-lib-filter")
                    filter_status = gr.Dropdown(["all", *STATUSES], value="all", label="Status", scale=1,
                                                elem_id="vqa-lib-status")
                    prev_button = gr.Button("‹ Newer", scale=1, elem_id="vqa-lib-prev")
                    next_button = gr.Button("Older ›", scale=1, elem_id="vqa-lib-next")
                table = gr.HTML("", elem_id="vqa-library-table", js_on_load=OPEN_ROW_JS)
                library_timer = gr.Timer(LIBRARY_POLL_SECONDS)
                detail_timer = gr.Timer(POLL_SECONDS, active=False)
            with gr.Tab("Search", id="search", elem_id="tab-search"):
                with gr.Row():
                    query = gr.Textbox(label="Search every video", placeholder="quarterly budget", scale=5,
                                       elem_id="vqa-query")
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="vqa-search")
                kinds = gr.CheckboxGroup(list(KINDS), label="Only these kinds (none: all)", elem_id="vqa-kinds")
                with gr.Row(elem_id="vqa-search-row"):
                    with gr.Column(scale=3):
                        results = gr.HTML(render.search_results([], "search", ""), elem_id="vqa-results",
                                          max_height=720)
                    with gr.Column(scale=2, elem_id="vqa-search-player-col"):
                        gr.HTML(render.player(None, None, "search"), elem_id="vqa-search-player")

        opened = [state, progress, ask_player, chat, timer]
        upload.upload(h.upload, [upload, state], [*opened, upload], show_progress="hidden")
        pick.input(h.pick, [pick, state], opened)
        timer.tick(h.poll, state, [progress, timer, pick], show_progress="hidden")
        for trigger in (ask_button.click, question.submit):
            trigger(h.ask, [question, state], [state, chat, question])

        library_outputs = [table, choose, page]
        filters = [choose, filter_text, filter_status]
        ui.load(h.first_load, filters, [*library_outputs, pick], show_progress="hidden")
        library_tab.select(h.library, [*filters, page], library_outputs, show_progress="hidden")
        refresh.click(h.library, [*filters, page], library_outputs)
        for trigger in (filter_text.submit, filter_status.input):
            trigger(h.filtered, filters, library_outputs)
        next_button.click(h.next_page, [*filters, page], library_outputs)
        prev_button.click(h.prev_page, [*filters, page], library_outputs)
        library_timer.tick(h.library_table, [filter_text, filter_status, page], table, show_progress="hidden")
        shown = [library_player, detail, retry, detail_timer]
        choose.input(h.select, choose, shown)
        table.click(h.open_row, None, [*shown, choose], show_progress="hidden")
        refresh.click(h.select, choose, shown)
        retry.click(h.retry, choose, shown)
        detail_timer.tick(h.watch, choose, shown, show_progress="hidden")

        for trigger in (go.click, query.submit):
            trigger(h.search, [query, kinds], results)
    return ui
