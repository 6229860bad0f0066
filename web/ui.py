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
from model.vision.choose import resolve_visual
from model.vision.twin import is_twin_folder
from video_qa.analyzers import get_backends, get_embedder, vlm_source
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.registry import RegistrationRefused
from video_qa.search import KINDS, Filters
from video_qa.services import intake, questions
from video_qa.services.intake import Send, UploadRefused
from video_qa.services.questions import AnswerFailed, AnswerTimedOut, SendAsk
from video_qa.services.similar import visual_query
from video_qa.services.videos import (VideoFailed, VideoNotFound, analysed_video, count_videos, list_videos, open_video,
                                      search_hits, video_moments, video_titles)
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
element.addEventListener('click', (e) => open(e.target.closest && e.target.closest('[data-open]')));
element.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') { const row = e.target.closest && e.target.closest('[data-open]');
    if (row) { e.preventDefault(); open(row); } }
});
"""
# a "Find similar" button (data-similar: a moment's id, data-url: the API's find-similar route) fetches the
# moments like it and sends them with a ``click`` to ``Handlers.similar``
SIMILAR_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest && e.target.closest('button[data-similar]');
  if (!b) return;
  e.preventDefault();
  const moment = b.dataset.similar;
  fetch(b.dataset.url, {headers: {Accept: 'application/json'}})
    .then((r) => r.json().then((body) => r.ok ? trigger('click', {moment, hits: body})
                                              : trigger('click', {moment, error: String((body && body.detail) || r.status)})))
    .catch(() => trigger('click', {moment, error: 'the server did not answer'}));
});
"""
TERMINAL = ("ready", "failed")
ASK_HINT = "Upload a video or pick one: it plays here."
LIBRARY_HINT = "Open a video from the list: it plays here, with its moments beside it."
SEARCH_HINT = "Click a result to play it here."


def model_parts(settings: Settings) -> tuple[str, list[tuple[str, str]]]:
    """The header's line about the models, and per optional part what it means here and which
    setting changes it: the vision-language model (written answers, events) and the visual model
    (visual search, find similar)."""
    heading = []
    parts = []
    if not settings.vlm_model:
        heading.append("No vision-language model")
        parts.append(("Answers", "no vision-language model (VIDEOQA_VLM_MODEL is empty): videos are indexed by "
                      "speech and on-screen text, and answers quote the best-matching moments. Set VIDEOQA_VLM_MODEL "
                      "(a GPU model) for written answers and events."))
    else:
        source = vlm_source(settings)
        if source.kind == "folder" and is_tiny(source.location):
            heading.append("Test model in use (tiny twin)")
            parts.append(("Answers", "Test model in use: a tiny random-weight Qwen2.5-VL. Its answers and event "
                          "descriptions are meaningless text; times, speech and on-screen text are real. Point "
                          "VIDEOQA_VLM_MODEL at a real model to change it."))
    visual = resolve_visual(settings.visual_model, settings.models_dir)
    if visual.kind == "off":
        heading.append("visual model off")
        seen = ("; shot labels still find what is seen by name, and Find similar compares shots by the ImageNet "
                "classifier's image features" if settings.labels != "off" else
                "; shot labels are off too (VIDEOQA_LABELS), so nothing is seen")
        parts.append(("Visual search", f"searching pictures by words is off ({visual.detail}). Set {visual.setting} "
                      f"to an open_clip model to turn it on{seen}."))
    elif visual.kind == "twin" or (visual.kind == "folder" and visual.available and is_twin_folder(visual.location)):
        heading.append("visual model: tiny twin")
        parts.append(("Visual search", f"the visual model is the tiny twin ({visual.detail}): find similar works "
                      f"on its vectors, but searching pictures by words is off. Set {visual.setting} to a real "
                      "open_clip model to turn it on."))
    elif not visual.available:
        heading.append("visual model unavailable")
        parts.append(("Visual search", f"{visual.setting}={visual.value!r}: {visual.detail}."))
    if not heading:
        return "", []
    return " · ".join(heading) + " — what this means", parts


def header_html(settings: Settings) -> str:
    """The page's header: the name and, as one line that opens, the models' state."""
    heading, parts = model_parts(settings)
    return render.header(heading, parts)


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
        """Upload & Ask's progress box; a truncated file's notice is said here (it is known once the
        file is probed, after the player was drawn, and this box is what the poll redraws)."""
        if video is None:
            return render.no_progress()
        return render.progress(video["status"], video["stage"], video["progress"], video["error"], video["title"], note,
                               video.get("notice"))

    def empty_lanes(self, video: dict[str, Any]) -> dict[str, str]:
        """Why a lane of the timeline has nothing in it, in the user's words."""
        if video["status"] != "ready":
            waiting = "not analysed yet"
            return {"event": waiting, "speech": waiting, "text": waiting, "visual": waiting}
        speech_off = (self.settings.speech_model or "").lower() in ("", "off", "none")
        return {"event": "no events found" if self.settings.vlm_model else "no vision model configured",
                "speech": ("speech recognition is off" if speech_off else
                           "no audio track" if video.get("has_audio") is False else "no speech found"),
                "text": "no on-screen text found" if self.settings.ocr else "on-screen text reading is off",
                "visual": ("visual moments are off (VIDEOQA_VISUAL_MODEL and VIDEOQA_LABELS)"
                           if self.settings.visual_model == "off" and self.settings.labels == "off"
                           else "no visual moments found")}

    # ---- Upload & Ask

    def upload(self, path: str | None, state: dict[str, Any]) -> tuple[Any, ...]:
        """The opened video (state, progress, player, chat, timer), the upload box (emptied when
        refused) and the dropdown, which shows the uploaded video, ready or not (failed too)."""
        if not path:
            return state, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        source = Path(path)
        try:
            reg = intake.store_upload(self.engine, self.settings, self.send, source, source.name)
        except UploadRefused as error:
            log.warning("upload refused: %s", error)
            return (state, render.progress("failed", "", 0.0, str(error)), gr.skip(), gr.skip(), gr.Timer(active=False),
                    None, gr.skip())
        except (RegistrationRefused, OSError) as error:
            log.warning("upload %s refused: %s", source.name, error)  # the server's paths: for the log only
            reason = error.reason if isinstance(error, RegistrationRefused) else "it could not be stored"
            return (state, render.progress("failed", "", 0.0, f"{source.name}: {reason}"), gr.skip(), gr.skip(),
                    gr.Timer(active=False), None, gr.skip())
        log.info("video %d: uploaded through the web app (%s)", reg.video_id, source.name)
        note = f"{source.name} is already in the library as #{reg.video_id}: opened it." if reg.duplicate else None
        return (*self._open(reg.video_id, note), gr.skip(), self.ask_choices(reg.video_id))

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
                render.player(video_id, title, "ask", status=video and video["status"], hint=ASK_HINT),
                render.conversation([], video_id, "ask"), gr.Timer(active=active))

    def poll(self, state: dict[str, Any]) -> tuple[Any, ...]:
        video_id = state.get("video_id")
        video = self._video(video_id) if video_id else None
        done = video is None or video["status"] in TERMINAL
        return self._progress(video), gr.Timer(active=not done), self.ask_choices(video_id) if done else gr.skip()

    def ready_choices(self) -> Any:
        return gr.Dropdown(choices=self._choices(only_ready=True))

    def ask_choices(self, video_id: int | None) -> Any:
        """The dropdown of Upload & Ask: the ready videos and, chosen, the one the tab shows (an
        upload still being analysed, or failed, is listed with its status)."""
        choices = self._choices(only_ready=True)
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return gr.Dropdown(choices=choices)
        if video["id"] not in {vid for _, vid in choices}:
            choices.insert(0, (f'{video["title"]} (#{video["id"]}, {video["status"]})', video["id"]))
        return gr.Dropdown(choices=choices, value=video["id"])

    def ask(self, question: str, state: dict[str, Any]) -> tuple[Any, ...]:
        video_id = state.get("video_id")
        question = (question or "").strip()
        if not video_id:
            gr.Warning("Upload a video or pick one from the library first.")
            return state, gr.skip(), question
        if not question:
            return state, gr.skip(), question
        unanswerable = self._nothing_to_ask(int(video_id))
        if unanswerable is not None:
            turn = {"question": question, "answer": None, "moments": [], "notes": [unanswerable]}
            history = [*state.get("history", []), turn]
            return {**state, "history": history}, render.conversation(history, video_id, "ask"), ""
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

    def _nothing_to_ask(self, video_id: int) -> str | None:
        """Why ``video_id`` has nothing to ask about, or None: the check ``videoqa ask`` makes
        (``services.videos.analysed_video``) and its words for a failed video (``VideoFailed.nothing_to``); a video still
        being analysed says so (its moments are not all there yet)."""
        with unit_of_work(self.engine) as session:
            try:
                video = analysed_video(session, video_id)
            except VideoNotFound as error:
                return str(error)
            except VideoFailed as error:
                return error.nothing_to("ask about")
            if video.status != "ready":
                return (f"video {video_id} is still being analysed ({video.status}), so it has nothing to ask "
                        "about yet: ask again when it is ready")
        return None

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
        """The player, the detail, the moments beside the player, the Retry button and whether to
        keep polling the video's status."""
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return (render.player(None, None, "library", hint=LIBRARY_HINT), "", "", gr.Button(visible=False),
                    gr.Timer(active=False))
        moments = self._moments(video["id"])
        label = "Re-analyse" if video["changed_on_disk"] else "Retry"
        return (render.player(video["id"], video["title"], "library", start, video["status"], video.get("notice")),
                render.video_detail(video, moments, "library", self.empty_lanes(video)),
                render.video_side(video, moments, "library"),
                gr.Button(label, visible=video["status"] == "failed" or bool(video["changed_on_disk"])),
                gr.Timer(active=video["status"] not in TERMINAL))

    def open_row(self, evt: gr.EventData) -> tuple[Any, ...]:
        """A click on a library card: the list's script sends ``{"video": id}`` with a ``click``."""
        head = str((getattr(evt, "_data", None) or {}).get("video", ""))
        if not head.isdigit() or len(head) > 9:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        video_id = int(head)
        return (*self.select(video_id), gr.update(value=video_id))

    def watch(self, video_id: int | None) -> tuple[Any, ...]:
        """While the opened video is being analysed (after Retry): its detail and moments, then once
        it is ready or failed again, its player and Retry button too, and the polling stops."""
        video = self._video(int(video_id)) if video_id else None
        if video is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=False)
        if video["status"] in TERMINAL:
            return self.select(video["id"])
        moments = self._moments(video["id"])
        return (gr.skip(), render.video_detail(video, moments, "library", self.empty_lanes(video)),
                render.video_side(video, moments, "library"), gr.skip(), gr.Timer(active=True))

    def retry(self, video_id: int | None) -> tuple[Any, ...]:
        """Retry a failed video, or analyse again a file that changed on disk."""
        if not video_id:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            intake.retry(self.engine, self.settings, self.send, int(video_id))
        except VideoNotFound:
            log.info("video %s: retry asked for a video that is gone", video_id)
        return self.select(video_id)

    # ---- Search

    def similar(self, evt: gr.EventData) -> tuple[Any, ...]:
        """"Find similar" (a button's script sends ``{"moment": id, "hits": [...]}``, the API's answer,
        or ``{"moment": id, "error": why}``): the hits in the Search tab, which is shown."""
        data = getattr(evt, "_data", None) or {}
        head = str(data.get("moment", ""))
        if not head.isdigit() or len(head) > 12:
            return gr.skip(), gr.skip()
        answer = data.get("hits")
        hits = answer.get("hits") if isinstance(answer, dict) else answer
        shown = [hit for hit in hits or () if _is_hit(hit)] if isinstance(hits, list) else []
        asked = answer.get("query") if isinstance(answer, dict) else None
        heading = f"Moments that look like moment #{head}"
        if isinstance(asked, dict) and _is_hit({**asked, "text": ""}):
            heading = f"Moments that look like {asked['title']} {render.span(asked)}"
        if data.get("error") is not None:
            heading += f": the search failed ({str(data['error'])[:200]})"
        return (render.search_results(shown, "search", f"like moment #{head}", heading, scores=True),
                gr.Tabs(selected="search"))

    def search(self, query: str, kinds: list[str] | None) -> str:
        query = (query or "").strip()
        if not query:
            return render.search_results([], "search", "")
        with unit_of_work(self.engine) as session:
            hits = search_hits(session, self.engine, query, get_embedder(self.settings),
                               Filters(kinds=tuple(kinds or ())), limit=20, visual=visual_query(self.settings))
        return render.search_results(hits, "search", query)


def _is_hit(hit: Any) -> bool:
    """Whether ``hit`` has what a search result shows (the API's SearchHit keys, typed)."""
    if not isinstance(hit, dict):
        return False
    numbers = all(isinstance(hit.get(k), (int, float)) and not isinstance(hit.get(k), bool)
                  for k in ("video_id", "start", "end"))
    return numbers and all(isinstance(hit.get(k), str) for k in ("title", "kind", "text"))


def build_ui(settings: Settings, engine: Engine, send: Send, send_ask: SendAsk | None = None) -> gr.Blocks:
    h = Handlers(settings, engine, send, send_ask)
    with gr.Blocks(title="VideoQA", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as ui:
        state = gr.State(new_state())
        gr.HTML(header_html(settings), elem_id="vqa-header")
        with gr.Tabs(elem_id="vqa-tabs") as tabs:
            with gr.Tab("Upload & Ask", id="ask", elem_id="tab-ask"):
                with gr.Row(elem_id="vqa-ask-row", equal_height=False):
                    with gr.Column(scale=2, min_width=280):
                        upload = gr.File(label="Upload a video", file_types=["video"], type="filepath",
                                         elem_id="vqa-upload", height=120)
                        pick = gr.Dropdown(label="…or ask about a video already in the library", choices=[],
                                           value=None, elem_id="vqa-pick")
                        progress = gr.HTML(render.no_progress(), elem_id="vqa-ask-progress")
                    with gr.Column(scale=3, min_width=280):
                        ask_player = gr.HTML(render.player(None, None, "ask", hint=ASK_HINT), elem_id="vqa-ask-player")
                chat = gr.HTML(render.conversation([], None, "ask"), elem_id="vqa-chat")
                with gr.Row():
                    question = gr.Textbox(label="Question", placeholder="What is said about the budget?", scale=5,
                                          elem_id="vqa-question")
                    ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="vqa-ask")
                timer = gr.Timer(POLL_SECONDS, active=False)
            with gr.Tab("Library", id="library", elem_id="tab-library") as library_tab:
                page = gr.State(0)
                with gr.Row(elem_id="vqa-lib-row", equal_height=False):
                    with gr.Column(scale=1, min_width=300, elem_id="vqa-lib-col"):
                        with gr.Row():
                            filter_text = gr.Textbox(label="Filter by title or #id", scale=3, elem_id="vqa-lib-filter")
                            filter_status = gr.Dropdown(["all", *STATUSES], value="all", label="Status", scale=2,
                                                        min_width=100, elem_id="vqa-lib-status")
                        with gr.Row():
                            prev_button = gr.Button("‹ Newer", size="sm", min_width=80, elem_id="vqa-lib-prev")
                            next_button = gr.Button("Older ›", size="sm", min_width=80, elem_id="vqa-lib-next")
                            refresh = gr.Button("Refresh", size="sm", min_width=80, elem_id="vqa-refresh")
                        table = gr.HTML("", elem_id="vqa-library-table", js_on_load=OPEN_ROW_JS)
                        choose = gr.Dropdown(label="Open by name", choices=[], value=None, elem_id="vqa-choose")
                    with gr.Column(scale=3, min_width=300, elem_id="vqa-open-col"):
                        with gr.Row(elem_id="vqa-watch-row", equal_height=False):
                            with gr.Column(scale=3, min_width=280):
                                library_player = gr.HTML(render.player(None, None, "library", hint=LIBRARY_HINT),
                                                         elem_id="vqa-library-player")
                                retry = gr.Button("Retry", visible=False, variant="secondary", elem_id="vqa-retry")
                            with gr.Column(scale=2, min_width=240, elem_id="vqa-side-col"):
                                side = gr.HTML("", elem_id="vqa-side", js_on_load=SIMILAR_JS)
                        detail = gr.HTML("", elem_id="vqa-detail")
                library_timer = gr.Timer(LIBRARY_POLL_SECONDS)
                detail_timer = gr.Timer(POLL_SECONDS, active=False)
            with gr.Tab("Search", id="search", elem_id="tab-search"):
                with gr.Row():
                    query = gr.Textbox(label="Search every video", placeholder="quarterly budget", scale=5,
                                       elem_id="vqa-query")
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="vqa-search")
                kinds = gr.CheckboxGroup(list(KINDS), label="Only these kinds (none: all)", elem_id="vqa-kinds")
                with gr.Row(elem_id="vqa-search-row", equal_height=False):
                    with gr.Column(scale=3):
                        results = gr.HTML(render.search_results([], "search", ""), elem_id="vqa-results",
                                          max_height=720, js_on_load=SIMILAR_JS)
                    with gr.Column(scale=2, elem_id="vqa-search-player-col"):
                        gr.HTML(render.player(None, None, "search", hint=SEARCH_HINT), elem_id="vqa-search-player")

        opened = [state, progress, ask_player, chat, timer]
        upload.upload(h.upload, [upload, state], [*opened, upload, pick], show_progress="hidden")
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
        shown = [library_player, detail, side, retry, detail_timer]
        choose.input(h.select, choose, shown)
        table.click(h.open_row, None, [*shown, choose], show_progress="hidden")
        refresh.click(h.select, choose, shown)
        retry.click(h.retry, choose, shown)
        detail_timer.tick(h.watch, choose, shown, show_progress="hidden")

        for trigger in (go.click, query.submit):
            trigger(h.search, [query, kinds], results)
        for similar_from in (side, results):
            similar_from.click(h.similar, None, [results, tabs], show_progress="hidden")
    return ui
