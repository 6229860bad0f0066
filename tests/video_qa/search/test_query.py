"""Highlights as offsets: words matched by their Snowball stem, brackets and markup in a text left
as they are, offsets that stay right when hits merge, and in texts beyond ASCII."""

from __future__ import annotations

import threading

from video_qa.search import Hit, highlights, merge_adjacent, stem, words


def _marked(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in highlights(text, words(query))]


def test_words_are_matched_by_their_stem() -> None:
    assert _marked("We were running late", "run") == ["running"]
    assert _marked("Two studies show it", "study") == ["studies"]
    assert _marked("Approved: the budget", "approve") == ["Approved"]
    assert _marked("Cranes lifted the crane", "crane lift") == ["Cranes", "lifted", "crane"]
    assert _marked("she runs, he ran", "running") == ["runs"]  # an irregular form is another word
    assert _marked("the budgetary report", "budget") == []  # a stem, not a prefix


def test_offsets_are_sorted_half_open_and_point_at_the_words() -> None:
    text = "Running, studies; RUN"
    assert highlights(text, ["run", "study"]) == [(0, 7), (9, 16), (18, 21)]


def test_brackets_in_the_text_stay_text_and_match_only_by_their_word() -> None:
    text = "see [appendix] for the [budget] (draft)"
    assert highlights(text, words("budget")) == [(24, 30)]
    assert text[24:30] == "budget"
    assert highlights(text, words("report")) == []  # "[appendix]" is not a match of its own
    assert _marked(text, "appendix draft") == ["appendix", "draft"]
    assert _marked("a <b>bold</b> & [x]", "bold") == ["bold"]


def test_stop_words_highlight_only_in_a_query_of_nothing_else() -> None:
    text = "The budget of the city"
    assert _marked(text, "the budget") == ["budget"]
    assert _marked(text, "The Who") == ["The", "the"]  # only stop words: they are what was asked
    assert highlights(text, []) == [] and highlights(text, words("  ?! ")) == []
    assert highlights("", ["budget"]) == []


def test_offsets_are_code_points_in_text_beyond_ascii() -> None:
    text = "🎉 Café crème: cafés 東京 会議 नमस्ते"
    assert _marked(text, "café") == ["Café", "cafés"]
    assert highlights(text, words("café")) == [(2, 6), (14, 19)]
    assert _marked(text, "東京") == ["東京"]
    assert _marked(text, "नमस्ते") == ["नमस्ते"]  # vowel signs and virama belong to the word
    decomposed = "un cafe\u0301 noir"  # the accent as a combining mark
    assert _marked(decomposed, "café") == ["cafe\u0301"]
    assert words("cafe\u0301") == ["café"]


def test_merged_hits_keep_offsets_into_the_joined_text() -> None:
    query = words("run approve")
    first_text, second_text = "[note] running now", "it was Approved — <ok>"
    first = Hit(1, "a", 10.0, 12.0, "speech", first_text, highlights(first_text, query), 0.02, [1], ["speech"])
    second = Hit(1, "a", 13.0, 15.0, "speech", second_text, highlights(second_text, query), 0.03, [2], ["speech"])
    (merged,) = merge_adjacent([first, second])
    assert merged.text == "[note] running now … it was Approved — <ok>"
    assert [merged.text[s:e] for s, e in merged.highlights] == ["running", "Approved"]
    assert merged.to_dict()["highlights"] == [[7, 14], [28, 36]]
    assert first.highlights == [(7, 14)] and second.highlights == [(7, 15)]  # the hits given are unchanged


def test_a_merge_of_the_same_text_keeps_one_set_of_offsets() -> None:
    text = "EXIT 12"
    hits = [Hit(1, "a", float(i), i + 0.5, "text", text, highlights(text, ["exit"]), 0.02, [i], ["text"])
            for i in range(3)]
    (merged,) = merge_adjacent(hits)
    assert merged.text == "EXIT 12" and merged.highlights == [(0, 4)]


def test_stemming_from_many_threads_gives_the_same_stems() -> None:
    vocabulary = [f"{w}{suffix}" for w in ("run", "study", "approve", "connect", "generous")
                  for suffix in ("", "s", "ing", "ed", "ly", "ness")]
    expected = {w: stem(w) for w in vocabulary}
    stem.cache_clear()
    seen: list[dict[str, str]] = []

    def work() -> None:
        seen.append({w: stem(w) for w in vocabulary * 50})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(s == expected for s in seen)
    assert expected["runs"] == "run" and expected["studying"] == "studi"
