"""A query's words: cut, stop words, stems, and where a text matches them (highlight offsets).

Highlights are character offsets into the text, never markers put into it: a transcript line that
itself holds brackets or markup ("see [appendix]", "<b>") stays exactly as it was, and each client
(the web UI, the JSON API, the CLI) shows the offsets its own way.

Matching is by stem, with the Snowball English stemmer (PyStemmer; the Porter2 algorithm, which is
also what PostgreSQL's ``english`` text search configuration uses, and close to SQLite FTS5's
``porter``): "running" matches "run", "studies" "study", "Approved" "approve". Irregular forms
("ran") do not match, as they do not in the full-text engines either.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator

import Stemmer

# A word: letters and digits, and the combining marks inside or after them ("cafe\u0301", Devanagari's
# vowel signs and virama are in the word, not word breaks as they are to ``\w``).
_ALNUM = re.compile(r"[^\W_]+")
MAX_WORDS = 32  # a query's words beyond this are ignored (the full-text queries stay small)

STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or our she so that the their "
    "them then there these they this to was we were what when where which who why will with you your "
    "do does did done how can could would should about into not no been being had me my us".split()
)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char)[0] == "M"


def word_spans(text_: str) -> Iterator[tuple[int, int]]:
    """The ``(start, end)`` of each word of ``text_``, in order (see ``_ALNUM``)."""
    if text_.isascii():  # no combining marks: the common case, a third faster this way
        for match in _ALNUM.finditer(text_):
            yield match.span()
        return
    start = end = -1
    for match in _ALNUM.finditer(text_):
        s, e = match.span()
        if start >= 0 and _is_mark(text_[end]) and all(_is_mark(c) for c in text_[end:s]):
            end = e  # only combining marks between: the same word
            continue
        if start >= 0:
            yield start, _past_marks(text_, end)
        start, end = s, e
    if start >= 0:
        yield start, _past_marks(text_, end)


def _past_marks(text_: str, end: int) -> int:
    while end < len(text_) and _is_mark(text_[end]):
        end += 1
    return end


def words(query: str) -> list[str]:
    """The query's words, lower case, at most ``MAX_WORDS`` (NFC first: an accent typed as a
    combining mark is the same word as the precomposed letter)."""
    query = unicodedata.normalize("NFC", query)
    return [query[s:e].lower() for s, e in word_spans(query)][:MAX_WORDS]


def normalised(text_: str) -> list[str]:
    """The words of ``text_``, lower case (punctuation, case and spacing do not count)."""
    return [text_[s:e].lower() for s, e in word_spans(text_)]


# A PyStemmer ``Stemmer`` object is not safe to share between threads (the web server and the
# search's helper threads call this concurrently): one per thread; the cache in front of it is.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of ``word``, compared case- and normalisation-blind."""
    return _stemmer().stemWord(unicodedata.normalize("NFC", word).lower())


def _wanted(query_words: list[str]) -> tuple[frozenset[str], bool]:
    """The stems a text word must have to be highlighted, and whether stop words take part.

    Stop words are left out (as the full-text search leaves them out: "the budget" highlights
    "budget", not every "the"), unless the query is nothing but stop words ("The Who"): then those
    words are all the query says, and they are highlighted."""
    content = [w for w in query_words if w.lower() not in STOPWORDS]
    chosen = content or list(query_words)
    return frozenset(stem(w) for w in chosen if w), not content


def highlights(text_: str, query_words: list[str]) -> list[tuple[int, int]]:
    """Where ``text_`` matches the query: a ``(start, end)`` pair for every word of ``text_`` whose
    stem is a query word's stem, as half-open offsets into ``text_`` in Python string indices
    (Unicode code points, so ``text_[start:end]`` is the word), sorted and never overlapping.

    A text word that is a stop word is highlighted only when the query holds nothing but stop
    words (see ``_wanted``). Nothing is highlighted for a query without words."""
    wanted, stop_words_count = _wanted(query_words)
    if not wanted:
        return []
    key = stem if stop_words_count else _content_stem
    return [(start, end) for start, end in word_spans(text_) if key(text_[start:end]) in wanted]


@functools.lru_cache(maxsize=65536)
def _content_stem(word: str) -> str | None:
    """``word``'s stem, or None for a stop word (one cached look-up per word of a text)."""
    return None if word.lower() in STOPWORDS else stem(word)
