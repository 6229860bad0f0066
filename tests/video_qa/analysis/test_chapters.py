"""Chapters from content: slide changes, scene cuts and pauses, bounded lengths, clean titles and
summaries (``analysis.summary``); by value."""

from __future__ import annotations

from video_qa.analysis.chapters import choose, content_chapters, slide_changes, Boundary
from video_qa.analysis.summary import extractive_summary
from video_qa.moments.values import NewMoment


def text(start: float, end: float, words: str, height: float = 0.12, unc: float = 2.0, **meta: object) -> NewMoment:
    return NewMoment(start, end, words, {"height": height, "samples": max(1, int((end - start) / 2)),
                                         "sample_interval": 2.0, "start_uncertainty": 0.0 if start == 0 else unc,
                                         "end_uncertainty": 1.0, **meta})


def said(start: float, end: float, words: str) -> NewMoment:
    return NewMoment(start, end, words, {"start_uncertainty": 0.3, "end_uncertainty": 0.3})


DECK = [
    text(0.0, 29.0, "QUARTERLY PLAN"), text(0.0, 29.0, "Notes for quarterly plan", height=0.07),
    text(30.0, 61.0, "HIRING ROADMAP"), text(30.0, 61.0, "Notes for hiring roadmap", height=0.07),
    text(42.0, 48.0, "INVOICE 2041 APPROVED", height=0.09),  # a caption over the slide: no chapter
    text(62.0, 89.0, "OPEN QUESTIONS"), text(62.0, 89.0, "Notes for open questions", height=0.07),
    text(2.0, 89.5, "50 … 2225", height=0.07, changing=True, values=45),
]


def test_a_chapter_at_each_slide_change_titled_by_the_slide() -> None:
    chapters = content_chapters(90.0, DECK, [said(70.0, 72.0, "Any questions? Ask now.")], [])
    assert [(c.start, c.end, c.text) for c in chapters] == [
        (0.0, 30.0, "QUARTERLY PLAN"), (30.0, 62.0, "HIRING ROADMAP"), (62.0, 90.0, "OPEN QUESTIONS")]
    assert [c.meta["start_uncertainty"] for c in chapters] == [0.0, 2.0, 2.0]
    assert [c.meta["end_uncertainty"] for c in chapters] == [2.0, 2.0, 0.0]
    assert [c.meta["boundary"] for c in chapters] == ["start", "slide", "slide"]


def test_a_caption_over_a_slide_and_a_counter_make_no_boundary() -> None:
    assert [b.t for b in slide_changes(DECK)] == [30.0, 62.0]


def test_every_cut_bounds_a_chapter_and_the_others_keep_the_minimum_length() -> None:
    cands = [Boundary(25.0, 1.0, "pause"), Boundary(30.0, 2.0, "slide"), Boundary(41.0, 2.0, "cut"),
             Boundary(55.0, 2.0, "cut"), Boundary(85.0, 2.0, "slide"), Boundary(58.0, 2.0, "cut"),
             Boundary(66.0, 2.0, "title"), Boundary(96.0, 2.0, "cut")]
    # cuts: all but one 3 s after a cut and one 4 s before the end; the slide at 30 is a change of
    # its own 11 s before a cut; the pause (5 s from the slide) and the title (11 s after a cut) are not
    assert [(b.t, b.source) for b in choose(cands, 100.0)] == [(30.0, "slide"), (41.0, "cut"), (55.0, "cut")]
    assert choose(cands, 15.0) == []  # a video that short is one chapter
    chapters = content_chapters(40.0, [text(0.0, 40.0, "ONE CAPTION ALL ALONG")], [], [[10.0, 2.0], [20.0, 2.0], [30.0, 2.0]])
    assert [(c.start, c.end, c.text, c.meta["boundary"]) for c in chapters] == [
        (0.0, 10.0, "ONE CAPTION ALL ALONG", "start"), (10.0, 20.0, "ONE CAPTION ALL ALONG", "cut"),
        (20.0, 30.0, "ONE CAPTION ALL ALONG", "cut"), (30.0, 40.0, "ONE CAPTION ALL ALONG", "cut")]
    chapters = content_chapters(15.0, DECK[:2], [], [[5.0, 2.0]])
    assert [(c.start, c.end, c.text) for c in chapters] == [(0.0, 15.0, "QUARTERLY PLAN")]


def test_titles_fall_back_to_speech_then_caption_and_never_use_changing_text() -> None:
    counter = text(0.0, 120.0, "100 … 2400", changing=True, values=60)
    speech = [said(3.0, 6.0, "Welcome to the harbour tour. We start at the gate.")]
    chapters = content_chapters(120.0, [counter], speech, [[60.0, 2.0]], [(60.0, 120.0, "Cranes unload a ship.")])
    assert [(c.start, c.end, c.text, c.meta["source"]) for c in chapters] == [
        (0.0, 60.0, "Welcome to the harbour tour.", "speech"), (60.0, 120.0, "Cranes unload a ship.", "caption")]
    assert chapters[1].meta["boundary"] == "cut" and chapters[1].meta["start_uncertainty"] == 2.0
    assert content_chapters(30.0, [counter], [], [])[0].text == "(no speech or text)"


def test_a_long_pause_in_speech_starts_a_chapter() -> None:
    speech = [said(1.0, 20.0, "First part."), said(31.0, 40.0, "Second part after a break."), said(41.0, 60.0, "More.")]
    chapters = content_chapters(60.0, [], speech, [])
    assert [(c.start, c.text, c.meta["boundary"]) for c in chapters] == [
        (0.0, "First part.", "start"), (31.0, "Second part after a break.", "pause")]


def test_the_summary_uses_clean_material_only_and_starts_with_it() -> None:
    noisy = DECK + [text(10.0, 12.0, "x7", height=0.02), text(20.0, 22.0, "1234", height=0.02)]
    summary = extractive_summary([said(70.0, 72.0, "Any questions?")], noisy)
    assert summary.splitlines() == [
        "Any questions?",
        "On screen: QUARTERLY PLAN; Notes for quarterly plan; HIRING ROADMAP; Notes for hiring roadmap; "
        "INVOICE 2041 APPROVED; OPEN QUESTIONS; Notes for open questions"]
    assert extractive_summary([], DECK[:2]) == "QUARTERLY PLAN; Notes for quarterly plan"
    assert extractive_summary([], []) == "Nothing was said and no on-screen text was read."


def test_a_long_summary_ends_at_a_sentence_or_word_with_an_ellipsis() -> None:
    talk = [said(10.0 * k, 10.0 * k + 8, f"Sentence number {k} tells about the harbour cranes and their loads.")
            for k in range(20)]  # 65 characters each (k < 10): 600 hold nine of them and the ellipsis
    (spoken,) = extractive_summary(talk, []).splitlines()
    assert spoken.endswith("Sentence number 8 tells about the harbour cranes and their loads. …")
    assert len(spoken) <= 600 and spoken.startswith("Sentence number 0 tells")
    one = [said(0.0, 60.0, " ".join(["incomprehensibilities"] * 40))]  # one sentence, longer than the limit
    (cut,) = extractive_summary(one, []).splitlines()
    assert cut.endswith("incomprehensibilities …") and len(cut) <= 600
    lines = [text(10.0 * k, 10.0 * k + 9, f"SLIDE TITLE NUMBER {k} ABOUT SHIPPING") for k in range(20)]
    shown = extractive_summary([], lines)
    assert shown.endswith("; …") and len(shown) <= 300
    assert shown.rsplit("; ", 2)[-2].startswith("SLIDE TITLE NUMBER ") and shown.rsplit("; ", 2)[-2].endswith("SHIPPING")


def test_a_label_after_a_cut_belongs_to_the_cuts_chapter_and_short_captions_start_none() -> None:
    labels = [text(6.0, 17.0, "HARBOUR CAMERA ONE"), text(26.0, 40.0, "CRANE LOADING BAY"),
              text(51.0, 62.0, "NIGHT SHIFT BEGINS")]
    chapters = content_chapters(70.0, labels, [], [[22.0, 2.0], [47.0, 2.0]])
    assert [(c.start, c.text, c.meta["boundary"]) for c in chapters] == [
        (0.0, "HARBOUR CAMERA ONE", "start"), (22.0, "CRANE LOADING BAY", "cut"), (47.0, "NIGHT SHIFT BEGINS", "cut")]
    assert [(b.t, b.source) for b in slide_changes(labels)] == [(6.0, "title"), (26.0, "title"), (51.0, "title")]
    captions = [text(a, a + 5.0, f"Subtitle number {k} here") for k, a in enumerate(range(3, 70, 8))]
    assert slide_changes(captions) == [] and len(content_chapters(80.0, captions, [], [])) == 1
