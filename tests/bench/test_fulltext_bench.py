"""bench/fulltext.py's own logic: the AND-then-OR of every candidate, the tie-aware exact@10, the
phrase check and the queries no moment answers with every word."""

from __future__ import annotations

import numpy as np

from bench.archive import sentence_pool
from bench.fulltext import K, exact_share, holds_phrase, no_match_queries, terms_of, two_phase
from video_qa.search.query import normalised


def test_two_phase_asks_for_any_word_only_when_the_every_word_list_is_short() -> None:
    asked: list[bool] = []

    def ranked(terms: list[str], every: bool) -> list[int]:
        asked.append(every)
        return list(range(1, K + 1)) if every else [9, 100, 101]

    assert two_phase(ranked, ["crane", "budget"]) == list(range(1, K + 1)) and asked == [True]
    asked.clear()

    def few(terms: list[str], every: bool) -> list[int]:
        asked.append(every)
        return [5, 9] if every else [9, 100, 5, 101]

    assert two_phase(few, ["crane", "budget"]) == [5, 9, 100, 101] and asked == [True, False]
    asked.clear()
    assert two_phase(few, ["crane"]) == [5, 9] and asked == [True]  # one word: its OR is its AND


def test_exact_share_is_tie_aware_and_puts_every_word_matches_first() -> None:
    # four sentences: 0 and 1 hold every word (0 ranks higher), 2 some words, 3 none
    phase, score = np.array([0, 0, 1, 2]), np.array([0.5, 0.2, 0.1, 0.0])
    counts = np.array([6, 30, 50, 14])
    picks = np.repeat(np.arange(4), counts)  # moment id i + 1 holds sentence picks[i]
    ids_of = {j: [int(i) + 1 for i in np.flatnonzero(picks == j)] for j in range(4)}
    terms = ["crane", "budget"]
    best = ids_of[0] + ids_of[1][:4]  # the 6 best, then any 4 of the 30 tied at the 10th place
    assert exact_share(best, picks, counts, phase, score, terms) == 1.0
    assert exact_share(ids_of[1][10:20], picks, counts, phase, score, terms) == 1.0  # ties at the 10th key count
    assert exact_share(ids_of[2][:5] + best[:5], picks, counts, phase, score, terms) == 0.5  # OR-only ones do not
    assert exact_share(ids_of[3][:10], picks, counts, phase, score, terms) == 0.0
    assert exact_share([], picks, np.zeros(4, dtype=int), phase, score, terms) is None  # nothing matches


def test_holds_phrase_word_for_word() -> None:
    assert holds_phrase("The crane operator lifts a steel beam!", "crane operator lifts")
    assert not holds_phrase("The crane operator lifts a steel beam!", "operator crane lifts")  # order
    assert not holds_phrase("The crane operator lifts a steel beam!", "crane operator lift")  # whole words


def test_no_match_queries_hold_no_sentence_of_the_pool() -> None:
    pool = [set(normalised(s)) for s in sentence_pool(4000)]
    qs = no_match_queries(40)
    assert len(set(qs)) > 30
    for q in qs:
        terms = terms_of(q)
        assert len(terms) == 3 and not any(set(terms) <= words for words in pool), q
